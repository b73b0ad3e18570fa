package auth0test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		timeout    time.Duration // client timeout; a hang or long latency needs one to end
		wantErr    bool
		wantStatus int
		wantBody   string
	}{
		{name: "status 500", fault: Fault{Method: "GET", PathPrefix: "/api/v2/users/", Status: 500},
			wantStatus: 500, wantBody: `{"statusCode":500,"error":"Internal Server Error","message":"Internal Server Error"}`},
		{name: "status 503", fault: Fault{PathPrefix: "/api/v2/", Status: 503},
			wantStatus: 503, wantBody: `{"statusCode":503,"error":"Service Unavailable","message":"Service Unavailable"}`},
		{name: "status 429", fault: Fault{PathPrefix: "/api/v2/users", Status: 429},
			wantStatus: 429, wantBody: `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`},
		{name: "short latency then a normal answer", fault: Fault{Latency: time.Millisecond},
			wantStatus: 200},
		{name: "latency beyond the client timeout", fault: Fault{Latency: time.Minute}, timeout: 100 * time.Millisecond,
			wantErr: true},
		{name: "hang", fault: Fault{Hang: true}, timeout: 100 * time.Millisecond,
			wantErr: true},
		{name: "drop", fault: Fault{Drop: true},
			wantErr: true},
		{name: "other method does not match", fault: Fault{Method: "PATCH", Status: 500},
			wantStatus: 200},
		{name: "other path does not match", fault: Fault{PathPrefix: "/api/v2/tickets", Status: 500},
			wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			tn := NewT(t, Config{Now: clock.Now})
			tok := token(t, tn, httpClient(tn, 5*time.Second))
			u := tn.AddUser(UserSeed{Email: "ada@example.com"})
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := httpClient(tn, timeout)

			tn.Inject(tc.fault)
			resp, err := send(c, http.MethodGet, userURL(tn, u.ID), tok, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("%s: answer %d %s, want a client error", tc.name, resp.status, resp.body)
				}
			} else {
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if resp.status != tc.wantStatus {
					t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
				}
				if tc.wantBody != "" && string(resp.body) != tc.wantBody {
					t.Errorf("%s: body %s, want %s", tc.name, resp.body, tc.wantBody)
				}
				if resp.header.Get("X-Ratelimit-Reset") == "" {
					t.Errorf("%s: no x-ratelimit-reset header", tc.name)
				}
				if tc.wantStatus == http.StatusTooManyRequests {
					want := strconv.FormatInt(clock.Now().Unix()+1, 10)
					if got := resp.header.Get("X-Ratelimit-Reset"); got != want || resp.header.Get("X-Ratelimit-Remaining") != "0" {
						t.Errorf("%s: reset %s remaining %s, want %s and 0", tc.name, got, resp.header.Get("X-Ratelimit-Remaining"), want)
					}
				}
			}
			// The fault is not limited in time: the next call meets it too.
			if again, err := send(c, http.MethodGet, userURL(tn, u.ID), tok, nil); (err != nil) != tc.wantErr || (err == nil && again.status != tc.wantStatus) {
				t.Errorf("%s: second call %d %v, want the same outcome", tc.name, again.status, err)
			}
			tn.ClearFaults()
			if cleared := call(t, httpClient(tn, 5*time.Second), http.MethodGet, userURL(tn, u.ID), tok, nil); cleared.status != http.StatusOK {
				t.Errorf("%s: after ClearFaults status %d, want 200", tc.name, cleared.status)
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	tn := NewT(t, Config{})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	u := tn.AddUser(UserSeed{Email: "ada@example.com"})
	tn.ResetCalls()

	tn.Inject(Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/", Status: 500, Times: 2})
	tn.Inject(Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/", Status: 502, Times: 1})
	var got []int
	for range 4 {
		got = append(got, call(t, c, http.MethodGet, userURL(tn, u.ID), tok, nil).status)
	}
	want := []int{500, 500, 502, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if n := tn.CountCalls(http.MethodGet, "/api/v2/users/"+u.ID); n != 4 {
		t.Errorf("CountCalls: %d, want 4", n)
	}
	if n := tn.CountCalls(http.MethodPost, "/api/v2/users"); n != 0 {
		t.Errorf("CountCalls for POST: %d, want 0", n)
	}
}

func TestFaultOnTokenEndpoint(t *testing.T) {
	tn := NewT(t, Config{})
	c := httpClient(tn, 5*time.Second)
	tn.Inject(Fault{PathPrefix: "/oauth/token", Status: 503, Times: 1})
	resp := call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", map[string]string{"grant_type": "client_credentials"})
	if got := resp.json(t); resp.status != 503 || got["error"] != "server_error" {
		t.Errorf("token with fault: %d %s, want 503 with an OAuth error body", resp.status, resp.body)
	}
	token(t, tn, c) // the fault is spent
}

func TestCloseReleasesHangs(t *testing.T) {
	tn, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tn.Inject(Fault{Hang: true})
	done := make(chan error, 1)
	go func() {
		// No client timeout: only Close can end this request.
		_, err := send(httpClient(tn, 0), http.MethodPost, tn.URL()+"/oauth/token", "", map[string]string{})
		done <- err
	}()
	for tn.hanging.Load() == 0 {
		select {
		case err := <-done:
			t.Fatalf("request ended before Close: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	tn.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("hung request ended without an error after Close")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Close did not release the hung request")
	}
}

func TestFaultAfterWrite(t *testing.T) {
	tests := []struct {
		name    string
		fault   Fault
		timeout time.Duration
	}{
		{name: "the answer is dropped", fault: Fault{Method: "PATCH", Drop: true, AfterWrite: true}, timeout: 5 * time.Second},
		{name: "the answer comes after the client gave up", fault: Fault{Method: "PATCH", Latency: time.Minute, AfterWrite: true}, timeout: 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewT(t, Config{})
			tok := token(t, tn, httpClient(tn, 5*time.Second))
			u := tn.AddUser(UserSeed{Email: "ada@example.com"})
			tn.Inject(tc.fault)
			resp, err := send(httpClient(tn, tc.timeout), http.MethodPatch, userURL(tn, u.ID), tok, map[string]any{"email_verified": true})
			if err == nil {
				t.Fatalf("%s: answer %d %s, want a client error", tc.name, resp.status, resp.body)
			}
			if got, _ := tn.User(u.ID); !got.EmailVerified {
				t.Errorf("%s: email_verified false: the write must land before the answer is lost", tc.name)
			}
			// The server records the call once it notices the client left.
			var calls []Call
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if calls = tn.Calls(); calls[len(calls)-1].Method == http.MethodPatch {
					break
				}
			}
			if last := calls[len(calls)-1]; last.Method != http.MethodPatch || last.Status != http.StatusOK {
				t.Errorf("%s: last call %s %d, want the PATCH recorded with the 200 the tenant answered", tc.name, last.Method, last.Status)
			}
		})
	}
}
