package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store/redistest"
	"github.com/redis/go-redis/v9"
)

// doctorSetup is a deployment doctor should pass: a durable, non-evicting Redis of its
// own, the emulated tenant with the Action deployed and bound, and the environment an
// operator exports. The receiver runs only for the tests that pass --url.
func doctorSetup(t *testing.T, redisArgs ...string) (map[string]string, *auth0test.Tenant) {
	t.Helper()
	env, tenant := serveEnvTenant(t)
	if redisArgs == nil {
		redisArgs = []string{"--appendonly", "yes", "--maxmemory-policy", "noeviction"}
	}
	env["MAILPROOF_REDIS_URL"] = redistest.Dedicated(t, redisArgs...).URL()
	if _, errOut, err := runAction(t, env, "deploy", "--url", "https://mailproof.example.com"); err != nil {
		t.Fatalf("action deploy: %v\n%s", err, errOut)
	}
	return env, tenant
}

// runDoctor runs `mailproof doctor ARGS --json` and returns the checklist by name.
func runDoctor(t *testing.T, env map[string]string, args ...string) (map[string]checkResult, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"doctor", "--json"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	var list []checkResult
	if jerr := json.Unmarshal(out.Bytes(), &list); jerr != nil {
		t.Fatalf("doctor --json: %v\nstdout:\n%s\nstderr:\n%s", jerr, out.String(), errOut.String())
	}
	got := map[string]checkResult{}
	for _, r := range list {
		got[r.Name] = r
	}
	return got, err
}

// startReceiver runs serve on env and returns its public base URL.
func startReceiver(t *testing.T, env map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], done, &stderr)
	return "http://" + env["MAILPROOF_LISTEN"]
}

// unbindAll empties the post-login trigger's bindings through the Management API, as an
// administrator removing the Action from the flow in the dashboard does.
func unbindAll(t *testing.T, tenant *auth0test.Tenant) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tenant.CertPool(), MinVersion: tls.VersionTLS12}}}
	cc := clientcredentials.Config{
		ClientID: tenant.ClientID(), ClientSecret: tenant.ClientSecret(), TokenURL: tenant.URL() + "/oauth/token",
		EndpointParams: map[string][]string{"audience": {tenant.URL() + "/api/v2/"}},
	}
	c := cc.Client(context.WithValue(t.Context(), oauth2.HTTPClient, hc))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, tenant.URL()+"/api/v2/actions/triggers/post-login/bindings",
		strings.NewReader(`{"bindings":[]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("unbind: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unbind: status %d", resp.StatusCode)
	}
}

// doctorScopes is mailproof's grant plus read:connections, which only doctor's
// connection check uses.
func doctorScopes(tenant *auth0test.Tenant) {
	tenant.SetScopes(append(slices.Clone(auth0client.RequiredScopes), "read:connections"))
	tenant.RevokeTokens()
}

func TestDoctorPassesAHealthyDeployment(t *testing.T) {
	env, tenant := doctorSetup(t)
	doctorScopes(tenant)
	url := startReceiver(t, env)
	got, err := runDoctor(t, env, "--url", url)
	if err != nil {
		t.Fatalf("doctor: %v; checks %+v", err, got)
	}
	for _, name := range []string{"config", "redis", "redis eviction", "redis persistence", "redis replicas", "record layout", "auth0 token", "auth0 scopes",
		"auth0 rate limit", "connection", "action", "action binding", "webhook secret"} {
		if r, ok := got[name]; !ok || r.Status != checkOK {
			t.Errorf("check %q: %+v; want ok", name, r)
		}
	}

	var out bytes.Buffer
	if err := run(context.Background(), []string{"doctor", "--url", url}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("doctor (text): %v", err)
	}
	if !strings.Contains(out.String(), "checks passed") || strings.Contains(out.String(), env["MAILPROOF_AUTH0_CLIENT_SECRET"]) {
		t.Errorf("text checklist:\n%s", out.String())
	}
}

// Each fault fails the check that names it, with a fix, and doctor exits non-zero; a
// warning alone does not.
func TestDoctorNamesEachFault(t *testing.T) {
	cases := []struct {
		name      string
		redisArgs []string
		prepare   func(t *testing.T, env map[string]string, tenant *auth0test.Tenant) []string // extra args
		check     string
		status    string
		detail    string // in the check's detail
	}{
		{name: "invalid configuration", check: "config", status: checkFail, detail: "MAILPROOF_WEBHOOK_SECRETS",
			prepare: func(_ *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				env["MAILPROOF_WEBHOOK_SECRETS"] = "not-a-secret"
				return nil
			}},
		{name: "Redis unreachable", check: "redis", status: checkFail,
			prepare: func(t *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				env["MAILPROOF_REDIS_URL"] = "redis://" + freeAddr(t)
				return nil
			}},
		{name: "Redis evicts", redisArgs: []string{"--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"},
			check: "redis eviction", status: checkFail, detail: "allkeys-lru"},
		{name: "Redis without persistence", redisArgs: []string{"--maxmemory-policy", "noeviction"},
			check: "redis persistence", status: checkFail, detail: "none"},
		{name: "fewer replicas than MIN_REPLICAS", check: "redis replicas", status: checkFail, detail: "MAILPROOF_REDIS_MIN_REPLICAS is 1 but the master has 0 replicas connected",
			prepare: func(_ *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				env["MAILPROOF_REDIS_MIN_REPLICAS"] = "1"
				return nil
			}},
		{name: "an earlier release's data", check: "record layout", status: checkWarn, detail: "earlier release",
			prepare: func(t *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				opt, err := redis.ParseURL(env["MAILPROOF_REDIS_URL"])
				if err != nil {
					t.Fatal(err)
				}
				c := redis.NewClient(opt)
				defer c.Close()
				// What a replica of an earlier release leaves: its job stream, no layout.
				if err := c.XAdd(t.Context(), &redis.XAddArgs{Stream: "mp:{mp}:jobs", Values: []any{"user_id", "auth0|x"}}).Err(); err != nil {
					t.Fatal(err)
				}
				if err := c.Del(t.Context(), "mp:{mp}:layout").Err(); err != nil {
					t.Fatal(err)
				}
				return nil
			}},
		{name: "wrong client secret", check: "auth0 token", status: checkFail,
			prepare: func(_ *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				env["MAILPROOF_AUTH0_CLIENT_SECRET"] = "wrong"
				return nil
			}},
		{name: "a scope not granted", check: "auth0 scopes", status: checkFail, detail: "update:users",
			prepare: func(_ *testing.T, _ map[string]string, tenant *auth0test.Tenant) []string {
				tenant.SetScopes(slices.DeleteFunc(slices.Clone(auth0client.RequiredScopes), func(s string) bool { return s == "update:users" }))
				tenant.RevokeTokens()
				return nil
			}},
		{name: "budget above the tenant's", check: "auth0 rate limit", status: checkWarn, detail: "enterprise",
			prepare: func(_ *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				env["MAILPROOF_AUTH0_RATE"] = "40"
				return nil
			}},
		{name: "budget above Free's", check: "auth0 rate limit", status: checkWarn, detail: "free",
			prepare: func(t *testing.T, env map[string]string, tenant *auth0test.Tenant) []string {
				if err := tenant.SetPlan(auth0test.PlanFree); err != nil {
					t.Fatal(err)
				}
				env["MAILPROOF_AUTH0_RATE"] = "3"
				return nil
			}},
		{name: "no such connection", check: "connection", status: checkFail, detail: "no connection named Corp-DB",
			prepare: func(_ *testing.T, _ map[string]string, tenant *auth0test.Tenant) []string {
				doctorScopes(tenant)
				return []string{"--connection", "Corp-DB"}
			}},
		{name: "connections unreadable", check: "connection", status: checkWarn, detail: "read:connections"},
		{name: "no Action", check: "action", status: checkFail, detail: "no Action named",
			prepare: func(_ *testing.T, _ map[string]string, _ *auth0test.Tenant) []string {
				return []string{"--action-name", "someone-elses-action"}
			}},
		{name: "the Action runs other code", check: "action", status: checkFail, detail: "other code",
			prepare: func(t *testing.T, _ map[string]string, tenant *auth0test.Tenant) []string {
				deployDirect(t, tenant, auth0client.ActionSpec{Name: "mailproof-post-login", Code: "exports.onExecutePostLogin = async () => {};"})
				return nil
			}},
		{name: "the Action is not bound", check: "action binding", status: checkFail, detail: "not bound",
			prepare: func(t *testing.T, _ map[string]string, tenant *auth0test.Tenant) []string {
				unbindAll(t, tenant)
				return nil
			}},
		{name: "the receiver has another secret", check: "webhook secret", status: checkFail, detail: "refused the signature",
			prepare: func(t *testing.T, env map[string]string, _ *auth0test.Tenant) []string {
				receiver := maps.Clone(env)
				receiver["MAILPROOF_WEBHOOK_SECRETS"] = newHMACSecret(t)
				return []string{"--url", startReceiver(t, receiver)}
			}},
		{name: "no receiver at the URL", check: "webhook secret", status: checkFail, detail: "no answer",
			prepare: func(t *testing.T, _ map[string]string, _ *auth0test.Tenant) []string {
				return []string{"--url", "http://" + freeAddr(t)}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env, tenant := doctorSetup(t, tc.redisArgs...)
			var args []string
			if tc.prepare != nil {
				args = tc.prepare(t, env, tenant)
			}
			got, err := runDoctor(t, env, args...)
			r := got[tc.check]
			if r.Status != tc.status || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("check %q: %+v; want %s with %q in the detail\nall: %+v", tc.check, r, tc.status, tc.detail, got)
			}
			if tc.status == checkFail && (err == nil || r.Fix == "") {
				t.Errorf("a failed check: exit error %v, fix %q; want an error and a fix", err, r.Fix)
			}
			if tc.status == checkWarn && err != nil {
				t.Errorf("a warning alone: %v; want exit 0", err)
			}
		})
	}
}
