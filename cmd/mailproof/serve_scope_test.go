package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeNotReadyWithoutFlipScope: serve whose application lacks update:users answers
// /readyz 503, its auth0 check naming the scope to grant.
func TestServeNotReadyWithoutFlipScope(t *testing.T) {
	env, tenant := serveEnvTenant(t)
	tenant.SetScopes([]string{"read:users", "create:users", "create:user_tickets"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	}()

	var last string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve returned: %v\n%s", err, stderr.String())
		default:
		}
		resp, err := http.Get("http://" + env["MAILPROOF_OPS_LISTEN"] + "/readyz")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var body struct {
			Checks map[string]struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			} `json:"checks"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		a := body.Checks["auth0"]
		last = a.Error
		if resp.StatusCode == http.StatusServiceUnavailable && !a.OK && strings.Contains(a.Error, "update:users") &&
			strings.Contains(a.Error, "Machine to Machine Applications") {
			cancel()
			<-done
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never failed naming update:users; last auth0 error %q\n%s", last, stderr.String())
}
