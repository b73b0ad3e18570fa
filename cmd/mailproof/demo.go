package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	deployaction "github.com/mailproof/mailproof/deploy/action"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

// demoEmail is the made-up person of the demo.
const demoEmail = "ada.lovelace@example.com"

// demo walks one made-up person through the whole story against the running local
// instance, printing each step, through the code paths a user and Auth0 take:
// `mailproof provision`, the reset email in the emulator's outbox, the link followed and
// a password chosen, a password login, the real post-login Action (under node, when it is
// installed) signing Auth0's event, the receiver, the worker, and the user read back. An
// error names the step that failed.
func demo(ctx context.Context, tenant *auth0test.Tenant, a server.Addrs, getenv func(string) string, w io.Writer) error {
	step := func(n int, format string, args ...any) {
		fmt.Fprintf(w, "  %d. %s\n", n, fmt.Sprintf(format, args...))
	}
	fail := func(n int, what string, err error) error {
		return fmt.Errorf("demo step %d (%s): %w", n, what, err)
	}
	fmt.Fprintf(w, "\nDemo: one person, from invitation to verified email.\n\n")

	var out, errOut bytes.Buffer
	if err := provisionCmd(ctx, []string{"--email", demoEmail, "--name", "Ada Lovelace", "--json"}, getenv, &out, &errOut); err != nil {
		return fail(1, "mailproof provision", fmt.Errorf("%w: %s", err, errOut.String()))
	}
	var res struct {
		Status string `json:"status"`
		Record struct {
			UserID string `json:"user_id"`
			Status string `json:"status"`
		} `json:"record"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return fail(1, "mailproof provision", err)
	}
	uid := res.Record.UserID
	step(1, "mailproof provision --email %s: %s %s in Auth0 with email_verified=false and a password nobody knows; its record is %q.", demoEmail, res.Status, uid, res.Record.Status)

	mail, ok := tenant.LastEmailTo(demoEmail)
	if !ok {
		return fail(2, "the reset email", errors.New("no email to the user in the outbox"))
	}
	step(2, "Auth0 sent the reset-password email; its link: %s", mail.Link)

	const password = "Chosen-by-Ada-1815!"
	if _, err := tenant.FollowResetLink(mail.Link, password); err != nil {
		return fail(3, "following the link", err)
	}
	u, _ := tenant.User(uid)
	step(3, "Ada followed the link and chose a password (last_password_reset %s).", u.LastPasswordReset.Format(time.RFC3339Nano))

	events := make(chan auth0test.PostLoginEvent, 1)
	tenant.OnLogin(func(ev auth0test.PostLoginEvent) {
		if ev.User.UserID == uid {
			select {
			case events <- ev:
			default:
			}
		}
	})
	if err := passwordLogin(ctx, tenant, demoEmail, password); err != nil {
		return fail(4, "logging in", err)
	}
	ev := <-events
	step(4, "She logged in with that password; Auth0 ran the post-login flow with her event (email_verified %v).", ev.User.EmailVerified)

	base := "http://" + a.Main
	answer, how, err := runActionOnEvent(ctx, ev, base+handlers.PostLoginPath, strings.Split(getenv("MAILPROOF_WEBHOOK_SECRETS"), ",")[0])
	if err != nil {
		return fail(5, "the post-login Action", err)
	}
	step(5, "%s signed the event and sent it to mailproof: %s", how, answer)

	deadline := time.Now().Add(15 * time.Second)
	for {
		if u, _ = tenant.User(uid); u.EmailVerified {
			break
		}
		if time.Now().After(deadline) {
			return fail(6, "the flip", errors.New("the user was not verified within 15s; see the log above"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	step(6, "The worker re-read the user, checked the policy and set email_verified=true; Auth0 now reads back email_verified=%v.", u.EmailVerified)
	fmt.Fprintf(w, "\nSee it: mailproof audit --user %s (after pasting the exports above), or http://%s/\n", shellQuote(uid), a.Ops)
	return nil
}

// passwordLogin logs in the way Auth0 offers a backend: the password-realm grant.
func passwordLogin(ctx context.Context, tenant *auth0test.Tenant, email, password string) error {
	form := url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "username": {email}, "password": {password},
		"realm": {proof.DefaultConnection}, "client_id": {tenant.ClientID()}, "client_secret": {tenant.ClientSecret()}, "scope": {"openid"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tenant.URL()+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = tenant.CertPool()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("POST /oauth/token answered %d: %s", resp.StatusCode, b)
	}
	return nil
}

// actionRunner runs post-login.js the way Auth0 does: onExecutePostLogin(event, api),
// with the secrets on the event. It prints what the Action logged.
const actionRunner = `
const action = require(process.argv[1]);
const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const api = { access: { deny: (r) => { console.log('denied: ' + r); } } };
action.onExecutePostLogin(event, api).then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1); });
`

// runActionOnEvent has the real Action sign and send ev, under node when it is installed; else
// it signs in Go the same way (webhook.Sign is held to the Action by the same vectors)
// and says so. It returns the Action's log or the receiver's answer, and who sent it.
func runActionOnEvent(ctx context.Context, ev auth0test.PostLoginEvent, receiverURL, secret string) (answer, how string, err error) {
	node, lookErr := exec.LookPath("node")
	if lookErr != nil {
		body, err := json.Marshal(map[string]any{"type": "auth0.post_login", "timestamp": time.Now().UTC().Format(time.RFC3339Nano), "data": ev})
		if err != nil {
			return "", "", err
		}
		answer, err := signedPost(ctx, receiverURL, secret, body)
		return answer, "node is not installed, so mailproof (as the Action would)", err
	}
	dir, err := os.MkdirTemp("", "mailproof-demo-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "post-login.js")
	if err := os.WriteFile(file, []byte(deployaction.Code), 0o600); err != nil {
		return "", "", err
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return "", "", err
	}
	var withSecrets map[string]any
	if err := json.Unmarshal(raw, &withSecrets); err != nil {
		return "", "", err
	}
	withSecrets["secrets"] = map[string]string{"MAILPROOF_URL": receiverURL, "MAILPROOF_SECRET": secret}
	arg, err := json.Marshal(withSecrets)
	if err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, node, "-e", actionRunner, file)
	cmd.Stdin = bytes.NewReader(arg)
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("node: %w: %s", err, outb)
	}
	return strings.TrimSpace(string(outb)), "The real Action (post-login.js, under node)", nil
}

// signedPost sends body to the receiver signed with secret, as the Action does.
func signedPost(ctx context.Context, url, secret string, body []byte) (string, error) {
	id, now := webhook.NewMessageID(), time.Now()
	sig, err := webhook.Sign(secret, id, now, body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
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
		return "", fmt.Errorf("%s %s answered %d: %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b)), nil
}
