package auth0client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// TestLastAnswerIsTheManagementAPIs: a token from the Authentication API, a 503 and a 429
// leave LastAnswer where it was; any other answer of the Management API, a 404 among
// them, moves it. The worker tells an Auth0 outage from a failing job by it.
func TestLastAnswerIsTheManagementAPIs(t *testing.T) {
	tn, _ := newTenant(t)
	c := newClient(t, tn, nil)
	if !c.LastAnswer().IsZero() {
		t.Fatalf("LastAnswer before any call: %v, want zero", c.LastAnswer())
	}
	u := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	tn.Inject(auth0test.Fault{PathPrefix: "/api/v2/", Status: http.StatusServiceUnavailable, Times: 1})
	if _, err := c.GetUser(t.Context(), u.ID); err == nil {
		t.Fatal("read during a 503: no error")
	}
	if !c.LastAnswer().IsZero() {
		t.Fatalf("LastAnswer after a token and a 503: %v, want zero", c.LastAnswer())
	}
	tn.Inject(auth0test.Fault{PathPrefix: "/api/v2/", Status: http.StatusTooManyRequests, Times: 1})
	_, _ = c.GetUser(t.Context(), u.ID)
	if !c.LastAnswer().IsZero() {
		t.Fatalf("LastAnswer after a 429: %v, want zero", c.LastAnswer())
	}

	before := time.Now()
	if _, err := c.GetUser(t.Context(), "auth0|nobody"); err == nil {
		t.Fatal("read of a user that does not exist: no error")
	}
	if got := c.LastAnswer(); got.Before(before) {
		t.Fatalf("LastAnswer after a 404: %v, want at or after %v", got, before)
	}
}
