package auth0test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	mgmt429  = `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`
	authn429 = `{"error":"too_many_requests","error_description":"Too Many Requests"}`
)

// TestPlanBuckets empties each plan's bucket of each endpoint family with a
// burst, then watches it refill, checking the x-ratelimit-* headers on the
// way. The numbers are written out from Auth0's tables, not derived from the
// profiles: fullIn is how long the emptied bucket takes to be full (the
// reset header, rounded up to whole seconds), oneToken how long until the
// next request passes (per-second limits refill every millisecond,
// per-minute ones every whole second).
func TestPlanBuckets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		plan         string
		method, path string
		burst        int
		fullIn       time.Duration
		oneToken     time.Duration
	}{
		{"free management", PlanFree, http.MethodGet, "/api/v2/users/auth0%7Cx", 2, time.Second, 500 * time.Millisecond},
		{"essentials user reads", PlanEssentials, http.MethodGet, "/api/v2/users/auth0%7Cx", 40, 5 * time.Second, time.Second},      // 4.8 s at 500/min
		{"essentials user writes", PlanEssentials, http.MethodPatch, "/api/v2/users/auth0%7Cx", 20, 6 * time.Second, time.Second},   // 0.3 s a token, counted in seconds
		{"essentials connection reads", PlanEssentials, http.MethodGet, "/api/v2/connections", 5, 6 * time.Second, 2 * time.Second}, // 1.2 s a token
		{"essentials everything else", PlanEssentials, http.MethodGet, "/api/v2/actions/actions", 10, 4 * time.Second, time.Second},
		{"enterprise management", PlanEnterprise, http.MethodGet, "/api/v2/users/auth0%7Cx", 50, 4 * time.Second, 63 * time.Millisecond}, // 3.125 s; 62.5 ms a token
		{"non-production management", PlanNonProduction, http.MethodGet, "/api/v2/users/auth0%7Cx", 10, 5 * time.Second, 500 * time.Millisecond},
		{"custom management, the default", "", http.MethodGet, "/api/v2/users/auth0%7Cx", 50, time.Second, 20 * time.Millisecond},
		{"free authentication", PlanFree, http.MethodGet, "/.well-known/jwks.json", 300, time.Minute, time.Second},
		{"free token", PlanFree, http.MethodPost, "/oauth/token", 30, time.Second, 34 * time.Millisecond},
		{"essentials authentication", PlanEssentials, http.MethodGet, "/.well-known/jwks.json", 25, time.Second, 40 * time.Millisecond},
		{"enterprise authentication", PlanEnterprise, http.MethodGet, "/.well-known/jwks.json", 100, time.Second, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			tn := NewT(t, Config{Now: clock.Now, Plan: tc.plan})
			c := httpClient(tn, 5*time.Second)
			tok, want429 := "", authn429
			if strings.HasPrefix(tc.path, apiPrefix) {
				tok, want429 = token(t, tn, c), mgmt429
			}
			start := clock.Now()
			check := func(step string, resp response, wantRemaining int, wantReset time.Time) {
				t.Helper()
				h := resp.header
				if got := h.Get("X-Ratelimit-Limit"); got != strconv.Itoa(tc.burst) {
					t.Errorf("%s: x-ratelimit-limit %q, want %d", step, got, tc.burst)
				}
				if got := h.Get("X-Ratelimit-Remaining"); got != strconv.Itoa(wantRemaining) {
					t.Errorf("%s: x-ratelimit-remaining %q, want %d", step, got, wantRemaining)
				}
				if got := h.Get("X-Ratelimit-Reset"); got != strconv.FormatInt(wantReset.Unix(), 10) {
					t.Errorf("%s: x-ratelimit-reset %q, want %d", step, got, wantReset.Unix())
				}
			}
			do := func() response { return call(t, c, tc.method, tn.URL()+tc.path, tok, "") }

			for i := range tc.burst {
				if resp := do(); resp.status == http.StatusTooManyRequests {
					t.Fatalf("request %d of the burst of %d: 429", i+1, tc.burst)
				} else if i == tc.burst-1 {
					check("last of the burst", resp, 0, start.Add(tc.fullIn))
				}
			}
			resp := do()
			if resp.status != http.StatusTooManyRequests || string(resp.body) != want429 {
				t.Fatalf("past the burst: %d %s, want 429 %s", resp.status, resp.body, want429)
			}
			check("past the burst", resp, 0, start.Add(tc.fullIn))

			if tc.oneToken > time.Millisecond {
				clock.Advance(tc.oneToken - time.Millisecond)
				if resp := do(); resp.status != http.StatusTooManyRequests {
					t.Errorf("a millisecond before a token is back: %d, want 429", resp.status)
				}
				clock.Advance(time.Millisecond)
			}
			if resp := do(); resp.status == http.StatusTooManyRequests {
				t.Errorf("after %v: 429, want a token back", tc.oneToken)
			}

			clock.Advance(tc.fullIn)
			check("full again, one spent", do(), tc.burst-1, ceilSecond(clock.Now().Add(tc.oneToken)))
		})
	}
}

// ceilSecond rounds t up to a whole second, as the reset header is.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// TestPlanFamiliesShare: on Essentials, creating, updating and deleting users
// share one bucket and reading users has its own; on Free every Management
// API call shares one.
func TestPlanFamiliesShare(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Plan: PlanEssentials})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	for range 20 {
		call(t, c, http.MethodDelete, userURL(tn, "auth0|x"), tok, nil)
	}
	for _, r := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPatch, "/api/v2/users/auth0%7Cx", http.StatusTooManyRequests},
		{http.MethodPost, "/api/v2/users", http.StatusTooManyRequests},
		{http.MethodGet, "/api/v2/users/auth0%7Cx", http.StatusNotFound},
		{http.MethodGet, "/api/v2/users-by-email?email=a@example.com", http.StatusOK},
		{http.MethodPost, "/api/v2/tickets/password-change", http.StatusBadRequest},
	} {
		if resp := call(t, c, r.method, tn.URL()+r.path, tok, map[string]any{}); resp.status != r.want {
			t.Errorf("essentials, user writes spent: %s %s: %d, want %d", r.method, r.path, resp.status, r.want)
		}
	}

	if err := tn.SetPlan(PlanFree); err != nil {
		t.Fatal(err)
	}
	call(t, c, http.MethodGet, userURL(tn, "auth0|x"), tok, nil)
	call(t, c, http.MethodGet, tn.URL()+"/api/v2/connections", tok, nil)
	if resp := call(t, c, http.MethodPatch, userURL(tn, "auth0|x"), tok, map[string]any{}); resp.status != http.StatusTooManyRequests {
		t.Errorf("free, two reads spent: PATCH %d, want 429", resp.status)
	}
}

// TestRateLimitHeadersEverywhere: every answer of both APIs, success or error,
// carries the headers; the reset page and export downloads, which are no
// Auth0 API, carry none.
func TestRateLimitHeadersEverywhere(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Plan: PlanFree})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	u := tn.AddUser(UserSeed{Email: "ada@example.com"})
	tn.Inject(Fault{PathPrefix: "/.well-known/", Status: http.StatusServiceUnavailable, Times: 1})
	tests := []struct {
		name         string
		method, path string
		token        string
		body         any
		wantStatus   int
		wantLimit    string // "" for no headers
	}{
		{"read a user", http.MethodGet, "/api/v2/users/" + strings.ReplaceAll(u.ID, "|", "%7C"), tok, nil, 200, "2"},
		{"no token", http.MethodGet, "/api/v2/users/auth0%7Cx", "", nil, 401, "2"},
		{"unknown route", http.MethodGet, "/api/v2/nothing", tok, nil, 404, "2"},
		{"bad body", http.MethodPost, "/api/v2/users", tok, map[string]any{"connection": 3}, 400, "2"},
		{"injected fault", http.MethodGet, "/.well-known/jwks.json", "", nil, 503, "300"},
		{"keys", http.MethodGet, "/.well-known/jwks.json", "", nil, 200, "300"},
		{"token refused", http.MethodPost, "/oauth/token", "", map[string]string{"grant_type": "client_credentials"}, 401, "30"},
		{"reset email refused", http.MethodPost, "/dbconnections/change_password", "", map[string]string{"connection": DefaultConnection}, 400, "300"},
		{"reset email", http.MethodPost, "/dbconnections/change_password", "", map[string]string{"email": "ada@example.com", "connection": DefaultConnection}, 200, "10"},
		{"no such page", http.MethodGet, "/nothing", "", nil, 404, "300"},
		{"reset page", http.MethodGet, resetPath + "?ticket=nope", "", nil, 400, ""},
	}
	for _, tc := range tests {
		clock.Advance(time.Second) // Free's Management API bucket holds 2
		resp := call(t, c, tc.method, tn.URL()+tc.path, tc.token, tc.body)
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
		}
		if got := resp.header.Get("X-Ratelimit-Limit"); got != tc.wantLimit {
			t.Errorf("%s: x-ratelimit-limit %q, want %q", tc.name, got, tc.wantLimit)
		}
		for _, h := range []string{"X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
			if got := resp.header.Get(h); (got != "") != (tc.wantLimit != "") {
				t.Errorf("%s: %s %q, want it present: %v", tc.name, h, got, tc.wantLimit != "")
			}
		}
	}
}

func TestSetPlanAndStartRefusals(t *testing.T) {
	t.Parallel()
	tn := NewT(t, Config{})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	limit := func() string {
		return call(t, c, http.MethodGet, userURL(tn, "auth0|x"), tok, nil).header.Get("X-Ratelimit-Limit")
	}
	steps := []struct {
		name string
		set  func() error
		want string
	}{
		{"default", func() error { return nil }, "50"},
		{"enterprise", func() error { return tn.SetPlan(PlanEnterprise) }, "50"},
		{"non-production", func() error { return tn.SetPlan(PlanNonProduction) }, "10"},
		{"free", func() error { return tn.SetPlan(PlanFree) }, "2"},
		{"SetRate after a plan", func() error { tn.SetRate(7, 0); return nil }, "7"},
		{"custom", func() error { return tn.SetPlan(PlanCustom) }, "50"},
	}
	for _, s := range steps {
		if err := s.set(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := limit(); got != s.want {
			t.Errorf("%s: x-ratelimit-limit %q, want %s", s.name, got, s.want)
		}
	}
	if err := tn.SetPlan("gold"); err == nil || !strings.Contains(err.Error(), `no plan "gold"`) {
		t.Errorf("SetPlan(gold): %v, want an error naming it", err)
	}
	for _, cfg := range []Config{{Plan: "gold"}, {Plan: PlanFree, Rate: 5}, {Plan: PlanEnterprise, Burst: 5}} {
		if tn, err := Start(cfg); err == nil {
			tn.Close()
			t.Errorf("Start(%+v): no error", cfg)
		}
	}
}

func TestPlanRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		plan string
		want float64
	}{
		{PlanFree, 2},
		{PlanEssentials, 2.5}, // everything else: 150 a minute
		{PlanEnterprise, 16},
		{PlanNonProduction, 2},
	}
	for _, tc := range tests {
		if got, err := PlanRate(tc.plan); err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.plan, got, err, tc.want)
		}
	}
	if _, err := PlanRate(PlanCustom); err == nil {
		t.Errorf("custom: no error; its rate is the configuration's")
	}
}
