package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func validEnv() map[string]string {
	return map[string]string{
		"MAILPROOF_REDIS_URL":           "redis://127.0.0.1:6379/0",
		"MAILPROOF_AUTH0_DOMAIN":        "acme.eu.auth0.com",
		"MAILPROOF_AUTH0_CLIENT_ID":     "client",
		"MAILPROOF_AUTH0_CLIENT_SECRET": "secret",
		"MAILPROOF_WEBHOOK_SECRETS":     testSecret,
	}
}

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(getenvFrom(validEnv()))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Listen != ":8080" || cfg.OpsListen != ":9090" {
		t.Errorf("listen %q ops %q, want :8080 and :9090", cfg.Listen, cfg.OpsListen)
	}
	if cfg.Tolerance != 5*time.Minute || cfg.BodyLimit != 64<<10 || cfg.Auth0Rate != 2 || cfg.RedisTimeout != time.Second {
		t.Errorf("defaults: tolerance %s body %d rate %v redis timeout %s", cfg.Tolerance, cfg.BodyLimit, cfg.Auth0Rate, cfg.RedisTimeout)
	}
	if cfg.MaxConns != 4096 || cfg.IdleTimeout != 30*time.Second {
		t.Errorf("max conns %d idle timeout %s, want 4096 and 30s", cfg.MaxConns, cfg.IdleTimeout)
	}
	if cfg.RedisMinReplicas != 0 {
		t.Errorf("redis min replicas %d, want 0", cfg.RedisMinReplicas)
	}
	if cfg.RedisDurability != DurabilityStrict {
		t.Errorf("redis durability %q, want %q", cfg.RedisDurability, DurabilityStrict)
	}
	if cfg.AdminToken != "" {
		t.Errorf("admin token %q, want empty (admin API off)", cfg.AdminToken)
	}
	if cfg.ReconcileInterval != time.Hour || cfg.ReconcileExportAbove != 20000 {
		t.Errorf("reconcile interval %s export above %d, want 1h and 20000", cfg.ReconcileInterval, cfg.ReconcileExportAbove)
	}
}

func TestLoadConfigNothingSetNamesEveryRequiredVariable(t *testing.T) {
	_, err := LoadConfig(func(string) string { return "" })
	if err == nil {
		t.Fatal("LoadConfig with an empty environment succeeded, want an error")
	}
	for _, s := range Settings() {
		if s.Required && !strings.Contains(err.Error(), s.Name) {
			t.Errorf("error does not name %s:\n%s", s.Name, err)
		}
	}
}

func TestLoadConfigBadValues(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		set     map[string]string
		wantErr []string // substrings; empty means the config is valid
		check   func(Config) bool
	}{
		{name: "bad redis url", set: map[string]string{"MAILPROOF_REDIS_URL": "http://x"}, wantErr: []string{"MAILPROOF_REDIS_URL", `scheme "http"`}},
		{name: "bad cluster seed", set: map[string]string{"MAILPROOF_REDIS_URL": "redis://c1:7000?addr=c2"}, wantErr: []string{"MAILPROOF_REDIS_URL", `addr="c2"`}},
		{name: "sentinel url", set: map[string]string{"MAILPROOF_REDIS_URL": "redis://s1:26379?master_name=mp&addr=s2:26379"}, check: func(c Config) bool { return strings.Contains(c.RedisURL, "master_name=mp") }},
		{name: "cluster url", set: map[string]string{"MAILPROOF_REDIS_URL": "redis://c1:7000?addr=c2:7000&addr=c3:7000"}, check: func(c Config) bool { return strings.Contains(c.RedisURL, "addr=c3") }},
		{name: "bad duration", set: map[string]string{"MAILPROOF_SHUTDOWN_GRACE": "ten seconds"}, wantErr: []string{"MAILPROOF_SHUTDOWN_GRACE"}},
		{name: "negative duration", set: map[string]string{"MAILPROOF_REDIS_TIMEOUT": "-1s"}, wantErr: []string{"MAILPROOF_REDIS_TIMEOUT"}},
		{name: "malformed whsec", set: map[string]string{"MAILPROOF_WEBHOOK_SECRETS": "whsec_!!!"}, wantErr: []string{"MAILPROOF_WEBHOOK_SECRETS"}},
		{name: "short whsec", set: map[string]string{"MAILPROOF_WEBHOOK_SECRETS": "whsec_c2hvcnQ="}, wantErr: []string{"MAILPROOF_WEBHOOK_SECRETS"}},
		{name: "one good one bad secret", set: map[string]string{"MAILPROOF_WEBHOOK_SECRETS": testSecret + ",whsec_"}, wantErr: []string{"entry 2"}},
		{name: "unreadable file", set: map[string]string{"MAILPROOF_AUTH0_CLIENT_SECRET": "", "MAILPROOF_AUTH0_CLIENT_SECRET_FILE": filepath.Join(dir, "missing")}, wantErr: []string{"MAILPROOF_AUTH0_CLIENT_SECRET_FILE"}},
		{name: "value and file both set", set: map[string]string{"MAILPROOF_AUTH0_CLIENT_SECRET_FILE": secretFile}, wantErr: []string{"both set"}},
		{name: "secret from file", set: map[string]string{"MAILPROOF_AUTH0_CLIENT_SECRET": "", "MAILPROOF_AUTH0_CLIENT_SECRET_FILE": secretFile},
			check: func(c Config) bool { return c.Auth0ClientSecret == "from-file" }},
		{name: "domain with scheme", set: map[string]string{"MAILPROOF_AUTH0_DOMAIN": "https://acme.auth0.com"}, wantErr: []string{"MAILPROOF_AUTH0_DOMAIN"}},
		{name: "bad listen", set: map[string]string{"MAILPROOF_LISTEN": "8080"}, wantErr: []string{"MAILPROOF_LISTEN"}},
		{name: "same listeners", set: map[string]string{"MAILPROOF_LISTEN": ":9000", "MAILPROOF_OPS_LISTEN": ":9000"}, wantErr: []string{"must differ"}},
		{name: "bad log format", set: map[string]string{"MAILPROOF_LOG_FORMAT": "xml"}, wantErr: []string{"MAILPROOF_LOG_FORMAT"}},
		{name: "short admin token", set: map[string]string{"MAILPROOF_ADMIN_TOKEN": "abc"}, wantErr: []string{"MAILPROOF_ADMIN_TOKEN"}},
		{name: "visibility shorter than two calls", set: map[string]string{"MAILPROOF_VISIBILITY_TIMEOUT": "15s", "MAILPROOF_AUTH0_TIMEOUT": "10s"}, wantErr: []string{"MAILPROOF_VISIBILITY_TIMEOUT"}},
		{name: "cert without key", set: map[string]string{"MAILPROOF_TLS_CERT_FILE": secretFile}, wantErr: []string{"set together"}},
		{name: "missing CA file", set: map[string]string{"MAILPROOF_AUTH0_CA_FILE": filepath.Join(dir, "ca.pem")}, wantErr: []string{"MAILPROOF_AUTH0_CA_FILE"}},
		{name: "zero max conns", set: map[string]string{"MAILPROOF_MAX_CONNS": "0"}, wantErr: []string{"MAILPROOF_MAX_CONNS"}},
		{name: "max conns not a number", set: map[string]string{"MAILPROOF_MAX_CONNS": "lots"}, wantErr: []string{"MAILPROOF_MAX_CONNS"}},
		{name: "idle timeout under a second", set: map[string]string{"MAILPROOF_IDLE_TIMEOUT": "500ms"}, wantErr: []string{"MAILPROOF_IDLE_TIMEOUT"}},
		{name: "connection settings", set: map[string]string{"MAILPROOF_MAX_CONNS": "100", "MAILPROOF_IDLE_TIMEOUT": "5s"},
			check: func(c Config) bool { return c.MaxConns == 100 && c.IdleTimeout == 5*time.Second }},
		{name: "unknown durability", set: map[string]string{"MAILPROOF_REDIS_DURABILITY": "none"}, wantErr: []string{"MAILPROOF_REDIS_DURABILITY", `"strict" or "relaxed"`}},
		{name: "relaxed durability", set: map[string]string{"MAILPROOF_REDIS_DURABILITY": "relaxed"},
			check: func(c Config) bool { return c.RedisDurability == DurabilityRelaxed }},
		{name: "min replicas", set: map[string]string{"MAILPROOF_REDIS_MIN_REPLICAS": "1"},
			check: func(c Config) bool { return c.RedisMinReplicas == 1 }},
		{name: "negative min replicas", set: map[string]string{"MAILPROOF_REDIS_MIN_REPLICAS": "-1"}, wantErr: []string{"MAILPROOF_REDIS_MIN_REPLICAS", "whole number of replicas from 0 to 100"}},
		{name: "min replicas not a number", set: map[string]string{"MAILPROOF_REDIS_MIN_REPLICAS": "one"}, wantErr: []string{"MAILPROOF_REDIS_MIN_REPLICAS", "whole number of replicas"}},
		{name: "zero rate", set: map[string]string{"MAILPROOF_AUTH0_RATE": "0"}, wantErr: []string{"MAILPROOF_AUTH0_RATE"}},
		{name: "reconcile off", set: map[string]string{"MAILPROOF_RECONCILE_INTERVAL": "0"},
			check: func(c Config) bool { return c.ReconcileInterval == 0 }},
		{name: "reconcile every 15 minutes", set: map[string]string{"MAILPROOF_RECONCILE_INTERVAL": "15m"},
			check: func(c Config) bool { return c.ReconcileInterval == 15*time.Minute }},
		{name: "negative reconcile interval", set: map[string]string{"MAILPROOF_RECONCILE_INTERVAL": "-1h"}, wantErr: []string{"MAILPROOF_RECONCILE_INTERVAL", "0 to turn the sweep off"}},
		{name: "reconcile interval not a duration", set: map[string]string{"MAILPROOF_RECONCILE_INTERVAL": "hourly"}, wantErr: []string{"MAILPROOF_RECONCILE_INTERVAL"}},
		{name: "export above one", set: map[string]string{"MAILPROOF_RECONCILE_EXPORT_ABOVE": "1"},
			check: func(c Config) bool { return c.ReconcileExportAbove == 1 }},
		{name: "export above zero", set: map[string]string{"MAILPROOF_RECONCILE_EXPORT_ABOVE": "0"}, wantErr: []string{"MAILPROOF_RECONCILE_EXPORT_ABOVE"}},
		{name: "export above not a number", set: map[string]string{"MAILPROOF_RECONCILE_EXPORT_ABOVE": "20k"}, wantErr: []string{"MAILPROOF_RECONCILE_EXPORT_ABOVE"}},
		{name: "two bad values reported together", set: map[string]string{"MAILPROOF_AUTH0_RATE": "x", "MAILPROOF_WORKERS": "0"}, wantErr: []string{"MAILPROOF_AUTH0_RATE", "MAILPROOF_WORKERS"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			for k, v := range tc.set {
				env[k] = v
			}
			cfg, err := LoadConfig(getenvFrom(env))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("%s: error %v, want none", tc.name, err)
				}
				if tc.check != nil && !tc.check(cfg) {
					t.Errorf("%s: config %+v does not hold the expected value", tc.name, cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: no error, want one naming %v", tc.name, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
				}
			}
			if strings.Contains(err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
				t.Errorf("%s: error leaks the webhook secret: %q", tc.name, err)
			}
		})
	}
}

// TestLoadSettingsReadsOnlyTheNamedVariables: a CLI command that names a few variables
// gets their defaults and checks, is not told about the others, and hears about every
// bad one of its own at once.
func TestLoadSettingsReadsOnlyTheNamedVariables(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		names   []string
		wantErr []string
		check   func(Config) bool
	}{
		{name: "defaults", names: []string{"MAILPROOF_AUTH0_RATE", "MAILPROOF_RECONCILE_EXPORT_ABOVE"},
			check: func(c Config) bool { return c.Auth0Rate == 2 && c.ReconcileExportAbove == 20000 && c.Workers == 0 }},
		{name: "required among the named", names: []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID"},
			wantErr: []string{"MAILPROOF_AUTH0_DOMAIN is required", "MAILPROOF_AUTH0_CLIENT_ID is required"}},
		{name: "a required variable not named is not asked for", names: []string{"MAILPROOF_WORKERS"},
			check: func(c Config) bool { return c.Workers == 4 }},
		{name: "bad values together", env: map[string]string{"MAILPROOF_AUTH0_RATE": "0", "MAILPROOF_RECONCILE_EXPORT_ABOVE": "-3"},
			names: []string{"MAILPROOF_AUTH0_RATE", "MAILPROOF_RECONCILE_EXPORT_ABOVE"}, wantErr: []string{"MAILPROOF_AUTH0_RATE", "MAILPROOF_RECONCILE_EXPORT_ABOVE"}},
		{name: "cross-checks between named variables", env: map[string]string{"MAILPROOF_VISIBILITY_TIMEOUT": "15s"},
			names: []string{"MAILPROOF_VISIBILITY_TIMEOUT", "MAILPROOF_AUTH0_TIMEOUT"}, wantErr: []string{"MAILPROOF_VISIBILITY_TIMEOUT"}},
		{name: "unknown name", names: []string{"MAILPROOF_NOPE"}, wantErr: []string{"no setting MAILPROOF_NOPE"}},
	}
	for _, tc := range tests {
		cfg, err := LoadSettings(getenvFrom(tc.env), tc.names...)
		if len(tc.wantErr) == 0 {
			if err != nil {
				t.Errorf("%s: error %v, want none", tc.name, err)
			} else if !tc.check(cfg) {
				t.Errorf("%s: config %+v does not hold the expected values", tc.name, cfg)
			}
			continue
		}
		for _, w := range tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %v, want it to mention %q", tc.name, err, w)
			}
		}
	}
}
