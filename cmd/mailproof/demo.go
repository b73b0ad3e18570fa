package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

// demo walks one made-up person through the whole story against the running local
// instance, printing each step: created unverified, registered, reset, logged in (the
// signed event the Action would send), flipped. Every step goes through the same public
// interfaces an operator and Auth0 use.
func demo(ctx context.Context, tenant *auth0test.Tenant, a server.Addrs, cfg server.Config, w io.Writer) error {
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(w, "  %d. %s\n", n, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "\nDemo: one person, from invitation to verified email.\n\n")
	u := tenant.AddUser(auth0test.UserSeed{Email: "ada.lovelace@example.com", Name: "Ada Lovelace", Connection: auth0test.DefaultConnection})
	step(1, "Your provisioning created %s in Auth0 with email_verified=false and a random password.", u.ID)

	base := "http://" + a.Main
	body, err := adminPost(ctx, base+"/v1/pending", cfg.AdminToken, `{"user_id":"`+u.ID+`"}`)
	if err != nil {
		return err
	}
	step(2, "POST /v1/pending registered the user with mailproof: %s", body)

	time.Sleep(5 * time.Millisecond) // the reset must come after the registration
	tenant.ResetPassword(u.ID, time.Now())
	u, _ = tenant.User(u.ID)
	step(3, "The person followed the reset link and chose a password (last_password_reset %s).", u.LastPasswordReset.Format(time.RFC3339Nano))

	event := map[string]any{
		"type":      event.TypePostLogin,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"data": map[string]any{
			"tenant":         map[string]any{"id": "local"},
			"transaction":    map[string]any{"id": "txn_demo"},
			"connection":     map[string]any{"id": "con_demo", "name": u.Connection, "strategy": "auth0"},
			"authentication": map[string]any{"methods": []any{map[string]any{"name": "pwd", "timestamp": time.Now().UTC().Format(time.RFC3339Nano)}}},
			"stats":          map[string]any{"logins_count": 1},
			"request":        map[string]any{"ip": "203.0.113.7", "user_agent": "mailproof-demo"},
			"user": map[string]any{
				"user_id": u.ID, "email": u.Email, "email_verified": false,
				"created_at":          u.CreatedAt.UTC().Format(time.RFC3339Nano),
				"last_password_reset": u.LastPasswordReset.UTC().Format(time.RFC3339Nano),
			},
		},
	}
	raw, err := json.Marshal(event)
	if err != nil {
		return err
	}
	id, now := webhook.NewMessageID(), time.Now()
	sig, err := webhook.Sign(cfg.WebhookSecrets[0], id, now, raw)
	if err != nil {
		return fmt.Errorf("sign the demo event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+handlers.PostLoginPath, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	answer, err := send(req)
	if err != nil {
		return err
	}
	step(4, "They logged in with that password; the post-login Action sent a signed event (%s): %s", id, answer)

	deadline := time.Now().Add(10 * time.Second)
	for {
		if u, _ = tenant.User(u.ID); u.EmailVerified {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("demo: the user was not verified within 10s; see the log above")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	step(5, "The worker re-read the user, checked the policy and set email_verified=true in Auth0.")
	fmt.Fprintf(w, "\nSee it: mailproof audit --user %s (after pasting the exports above), or http://%s/\n", shellQuote(u.ID), a.Ops)
	return nil
}

func adminPost(ctx context.Context, url, token, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return send(req)
}

// send performs req and returns the answer body, or an error naming the status.
func send(req *http.Request) (string, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode >= 300 {
		return "", fmt.Errorf("demo: %s %s answered %d: %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
