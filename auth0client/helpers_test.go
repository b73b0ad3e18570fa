package auth0client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// clock is the emulator's clock, moved by hand so rate-limit resets are
// exact.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 24, 10, 15, 3, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTenant starts an emulator on a hand-moved clock.
func newTenant(t *testing.T) (*auth0test.Tenant, *clock) {
	t.Helper()
	clk := newClock()
	return auth0test.NewT(t, auth0test.Config{Now: clk.Now}), clk
}

// newClient is the client under test against tn: real TLS trusting the
// emulator's CA file, real client-credentials flow. change edits the
// config before New.
func newClient(t *testing.T, tn *auth0test.Tenant, change func(*auth0client.Config)) *auth0client.Client {
	t.Helper()
	cfg := auth0client.Config{
		Domain:       tn.Domain(),
		ClientID:     tn.ClientID(),
		ClientSecret: tn.ClientSecret(),
		CAFile:       tn.CAFile(),
		Timeout:      5 * time.Second,
	}
	if change != nil {
		change(&cfg)
	}
	c, err := auth0client.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// sentinels lists every error class, to check that an error matches its
// class and no other.
var sentinels = map[string]error{
	"ErrUserNotFound": auth0client.ErrUserNotFound,
	"ErrRateLimited":  auth0client.ErrRateLimited,
	"ErrTransient":    auth0client.ErrTransient,
	"ErrPermanent":    auth0client.ErrPermanent,
	"ErrUnauthorized": auth0client.ErrUnauthorized,
	"ErrMissingScope": auth0client.ErrMissingScope,
}
