package auth0client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestCallErrors(t *testing.T) {
	tests := []struct {
		name     string
		fault    auth0test.Fault
		missing  bool // read a user that does not exist
		want     error
		wantText string
	}{
		{name: "404", missing: true, want: auth0client.ErrUserNotFound, wantText: "The user does not exist."},
		{name: "429", fault: auth0test.Fault{Status: 429}, want: auth0client.ErrRateLimited},
		{name: "500", fault: auth0test.Fault{Status: 500}, want: auth0client.ErrTransient, wantText: "500"},
		{name: "503", fault: auth0test.Fault{Status: 503}, want: auth0client.ErrTransient, wantText: "503"},
		{name: "latency beyond the timeout", fault: auth0test.Fault{Latency: time.Minute}, want: auth0client.ErrTransient, wantText: "request"},
		{name: "hang", fault: auth0test.Fault{Hang: true}, want: auth0client.ErrTransient, wantText: "request"},
		{name: "dropped connection", fault: auth0test.Fault{Drop: true}, want: auth0client.ErrTransient, wantText: "request"},
		{name: "400", fault: auth0test.Fault{Status: 400}, want: auth0client.ErrPermanent, wantText: "400 Bad Request"},
		{name: "409", fault: auth0test.Fault{Status: 409}, want: auth0client.ErrPermanent, wantText: "409"},
		{name: "403", fault: auth0test.Fault{Status: 403}, want: auth0client.ErrUnauthorized, wantText: "403"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, clk := newTenant(t)
			// A short timeout so hangs end; nothing asserts on durations.
			c := newClient(t, tn, func(cfg *auth0client.Config) { cfg.Timeout = 300 * time.Millisecond })
			if err := c.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err) // fetch the token before the fault
			}
			u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
			id := u.ID
			if tc.missing {
				id = "auth0|000000000000000000000000"
			}
			tn.Inject(tc.fault)

			_, err := c.GetUser(context.Background(), id)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: error %v, want %v", tc.name, err, tc.want)
			}
			for name, s := range sentinels {
				matches := errors.Is(err, s)
				should := s == tc.want || (s == auth0client.ErrTransient && tc.want == auth0client.ErrUnauthorized)
				if matches != should {
					t.Errorf("%s: errors.Is(err, %s) = %v, want %v", tc.name, name, matches, should)
				}
			}
			if !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), id) {
				t.Errorf("%s: error %q, want it to name the user and contain %q", tc.name, err, tc.wantText)
			}
			var rl *auth0client.RateLimitError
			if errors.As(err, &rl) != (tc.want == auth0client.ErrRateLimited) {
				t.Errorf("%s: errors.As RateLimitError = %v, want %v", tc.name, !(tc.want == auth0client.ErrRateLimited), tc.want == auth0client.ErrRateLimited)
			}
			if rl != nil && !rl.Reset.Equal(clk.Now().Add(time.Second)) {
				t.Errorf("%s: reset %v, want %v from x-ratelimit-reset", tc.name, rl.Reset, clk.Now().Add(time.Second))
			}
			tn.Close() // waits for the handler of a hung call, which records it
			if n := tn.CountCalls(http.MethodGet, "/api/v2/users/"); n != 1 {
				t.Errorf("%s: %d GET calls, want 1: the client must not retry", tc.name, n)
			}
		})
	}
}

func TestRateLimitedConcurrently(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, nil)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	tn.SetRate(1, 5) // the clock stands still: exactly five calls pass

	const calls = 20
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() { _, errs[i] = c.GetUser(context.Background(), u.ID) })
	}
	wg.Wait()

	ok, limited := 0, 0
	for _, err := range errs {
		var rl *auth0client.RateLimitError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &rl):
			limited++
			// Five tokens missing at one per second: full again in 5 s.
			if want := clk.Now().Add(5 * time.Second); !rl.Reset.Equal(want) {
				t.Errorf("reset %v, want %v", rl.Reset, want)
			}
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 5 || limited != calls-5 {
		t.Errorf("%d succeeded and %d were rate limited, want 5 and %d", ok, limited, calls-5)
	}
}

func TestCancelledContext(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.GetUser(ctx, "auth0|x")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, auth0client.ErrTransient) {
		t.Errorf("GetUser with a cancelled context: %v, want context.Canceled and ErrTransient", err)
	}
	if n := tn.CountCalls("", "/api/v2/"); n != 0 {
		t.Errorf("%d calls sent with a cancelled context", n)
	}
}
