package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store/redistest"
)

// opsGet reads one ops page and fails the test on anything but 200.
func opsGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d (%v), want 200; body:\n%s", url, resp.StatusCode, err, body)
	}
	return body
}

// durabilityWarning is the redis_durability check's warning in a /readyz or status JSON body.
func durabilityWarning(t *testing.T, body []byte) string {
	t.Helper()
	var got struct {
		Checks map[string]struct {
			OK      bool   `json:"ok"`
			Warning string `json:"warning"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	c, ok := got.Checks["redis_durability"]
	if !ok || !c.OK {
		t.Fatalf("redis_durability check %+v (present %t), want one that passes:\n%s", c, ok, body)
	}
	return c.Warning
}

func TestServeChecksRedisDurability(t *testing.T) {
	noConfig := []string{"--rename-command", "CONFIG", ""}
	tests := []struct {
		name       string
		args       []string // redistest's servers run with --save "" --appendonly no unless told
		durability string   // MAILPROOF_REDIS_DURABILITY; "" leaves the default (strict)
		wantErr    []string // serve refuses with an error saying these; nil: it starts
		wantWarn   string   // in /readyz, the status page and the log; "": no warning
	}{
		{name: "AOF everysec starts without a warning", args: []string{"--appendonly", "yes"}},
		{name: "AOF always starts without a warning", args: []string{"--appendonly", "yes", "--appendfsync", "always"}},
		{name: "no AOF under strict is refused", wantErr: []string{"MAILPROOF_REDIS_DURABILITY=relaxed", "appendonly yes", "whenever Redis restarts"}},
		{name: "RDB only under strict is refused", args: []string{"--save", "60 1"}, durability: "strict", wantErr: []string{"MAILPROOF_REDIS_DURABILITY", "since the last RDB snapshot"}},
		{name: "no AOF under relaxed starts with a warning", durability: "relaxed", wantWarn: "Redis runs without AOF"},
		{name: "AOF without fsync warns", args: []string{"--appendonly", "yes", "--appendfsync", "no"}, wantWarn: "appendfsync no"},
		{name: "CONFIG refused warns", args: append([]string{"--appendonly", "yes"}, noConfig...), wantWarn: "Redis refuses CONFIG GET"},
		// INFO still says AOF is off: that is known, not a guess.
		{name: "CONFIG refused and INFO says no AOF is refused", args: noConfig, wantErr: []string{"MAILPROOF_REDIS_DURABILITY"}},
		{name: "evicting and no AOF: both reported", args: []string{"--maxmemory-policy", "allkeys-lru"}, wantErr: []string{"noeviction", "MAILPROOF_REDIS_DURABILITY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := serveEnv(t)
			env["MAILPROOF_REDIS_URL"] = redistest.Dedicated(t, tc.args...).URL()
			if tc.durability != "" {
				env["MAILPROOF_REDIS_DURABILITY"] = tc.durability
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stderr syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, new(bytes.Buffer), &stderr)
			}()

			if tc.wantErr != nil {
				var err error
				select {
				case err = <-done:
				case <-ctx.Done():
					t.Fatalf("%s: serve did not refuse within 30s\n%s", tc.name, stderr.String())
				}
				if err == nil {
					t.Fatalf("%s: serve returned nil, want a refusal", tc.name)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not say %q", tc.name, err, w)
					}
				}
				return
			}

			ops := "http://" + env["MAILPROOF_OPS_LISTEN"]
			waitReady(t, env["MAILPROOF_OPS_LISTEN"], done, &stderr)
			readyz := durabilityWarning(t, opsGet(t, ops+"/readyz"))
			status := durabilityWarning(t, opsGet(t, ops+"/?format=json"))
			page := string(opsGet(t, ops+"/"))
			logged := strings.Contains(stderr.String(), "redis can lose acknowledged events")
			if tc.wantWarn == "" {
				if readyz != "" || status != "" || strings.Contains(page, "banner warn") || logged {
					t.Errorf("%s: readyz warning %q, status warning %q, page banner %t, logged %t; want no warning",
						tc.name, readyz, status, strings.Contains(page, "banner warn"), logged)
				}
			} else {
				if !strings.Contains(readyz, tc.wantWarn) || status != readyz {
					t.Errorf("%s: readyz warning %q, status warning %q; want both to say %q", tc.name, readyz, status, tc.wantWarn)
				}
				if !strings.Contains(page, `class="banner warn"`) || !strings.Contains(page, tc.wantWarn) {
					t.Errorf("%s: status page lacks a warning banner saying %q:\n%s", tc.name, tc.wantWarn, page)
				}
				if !logged {
					t.Errorf("%s: no start-up warning in the log:\n%s", tc.name, stderr.String())
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: serve after cancel: %v", tc.name, err)
			}
		})
	}
}
