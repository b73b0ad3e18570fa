package auth0test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Rate: 2, Burst: 2})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	u := tn.AddUser(UserSeed{Email: "ada@example.com"})
	now := clock.Now().Unix()

	tests := []struct {
		name          string
		advance       time.Duration
		wantStatus    int
		wantRemaining int
		wantReset     int64
	}{
		{name: "first of the burst", wantStatus: 200, wantRemaining: 1, wantReset: now + 1},                                   // one token missing: full in 0.5 s
		{name: "second of the burst", wantStatus: 200, wantRemaining: 0, wantReset: now + 1},                                  // two missing: full in 1 s
		{name: "bucket empty", wantStatus: 429, wantRemaining: 0, wantReset: now + 1},                                         // nothing spent
		{name: "half a second later", advance: 500 * time.Millisecond, wantStatus: 200, wantRemaining: 0, wantReset: now + 2}, // refilled one, spent it
		{name: "refilled", advance: 2 * time.Second, wantStatus: 200, wantRemaining: 1, wantReset: now + 3},
	}
	for _, tc := range tests {
		clock.Advance(tc.advance)
		resp := call(t, c, http.MethodGet, userURL(tn, u.ID), tok, nil)
		if resp.status != tc.wantStatus {
			t.Fatalf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
		}
		if got := resp.header.Get("X-Ratelimit-Limit"); got != "2" {
			t.Errorf("%s: x-ratelimit-limit %q, want 2", tc.name, got)
		}
		if got := resp.header.Get("X-Ratelimit-Remaining"); got != strconv.Itoa(tc.wantRemaining) {
			t.Errorf("%s: x-ratelimit-remaining %q, want %d", tc.name, got, tc.wantRemaining)
		}
		if got := resp.header.Get("X-Ratelimit-Reset"); got != strconv.FormatInt(tc.wantReset, 10) {
			t.Errorf("%s: x-ratelimit-reset %q, want %d", tc.name, got, tc.wantReset)
		}
		if tc.wantStatus == http.StatusTooManyRequests {
			want := `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`
			if string(resp.body) != want {
				t.Errorf("%s: body %s, want %s", tc.name, resp.body, want)
			}
		}
	}

	// The Authentication API is outside the Management API bucket:
	// change_password answers with its own limit's headers.
	if resp := call(t, c, http.MethodPost, tn.URL()+"/dbconnections/change_password", "", map[string]string{
		"email": "ada@example.com", "connection": DefaultConnection,
	}); resp.status != http.StatusOK || resp.header.Get("X-Ratelimit-Limit") != "10" {
		t.Errorf("change_password: status %d, x-ratelimit-limit %q; want 200 and its own limit, 10",
			resp.status, resp.header.Get("X-Ratelimit-Limit"))
	}
}

func TestSetRate(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)

	if got := call(t, c, http.MethodGet, userURL(tn, "auth0|x"), tok, nil).header.Get("X-Ratelimit-Limit"); got != "50" {
		t.Errorf("default limit %q, want 50", got)
	}
	tn.SetRate(1, 1)
	statuses := []int{}
	for range 2 {
		statuses = append(statuses, call(t, c, http.MethodGet, userURL(tn, "auth0|x"), tok, nil).status)
	}
	if statuses[0] != http.StatusNotFound || statuses[1] != http.StatusTooManyRequests {
		t.Errorf("after SetRate(1, 1): statuses %v, want [404 429]", statuses)
	}
}

func TestNormalizeRate(t *testing.T) {
	tests := []struct {
		name      string
		rate      float64
		burst     int
		wantRate  float64
		wantBurst int
	}{
		{"zero means defaults", 0, 0, 50, 50},
		{"rate alone sizes the burst", 2.5, 0, 2.5, 3},
		{"tiny rate keeps a burst of one", 0.1, 0, 0.1, 1},
		{"burst alone keeps the default rate", 0, 7, 50, 7},
		{"both given", 16, 50, 16, 50},
	}
	for _, tc := range tests {
		rate, burst := normalizeRate(tc.rate, tc.burst)
		if rate != tc.wantRate || burst != tc.wantBurst {
			t.Errorf("%s: got %v/%d, want %v/%d", tc.name, rate, burst, tc.wantRate, tc.wantBurst)
		}
	}
}
