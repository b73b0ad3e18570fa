package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

const localUsage = `Usage:
  mailproof local [--demo]

Runs the whole product in one process with nothing to set up: an embedded Redis, the
bundled Auth0 tenant emulator, the receiver, the worker and the ops listener, on
127.0.0.1:8080 and 127.0.0.1:9090. Once it is ready it prints its addresses and the
export lines that point the CLI in another shell at it. Ctrl-C stops everything.

A variable below that is set wins over local's own value: MAILPROOF_REDIS_URL for a
Redis of your own, MAILPROOF_AUTH0_DOMAIN (with the client id and secret) for a real
tenant, MAILPROOF_LISTEN and MAILPROOF_OPS_LISTEN for other addresses. Pasted exports of an
earlier local run that point at its emulator or embedded Redis, gone with it, are
ignored, with a note on stderr.`

// localPlan is the bundled emulator's Auth0 plan: Free's rate limits, the ones a
// newcomer's own tenant most likely has, so local behaves as mailproof would there.
const localPlan = auth0test.PlanFree

// local runs the whole product in one process with nothing to set up: an embedded Redis,
// the bundled Auth0 tenant emulator, the receiver, the worker and the ops listener. Any
// MAILPROOF_* variable that is set wins over the generated value, so local mode can also
// point at a real Redis or tenant.
func local(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("local", localUsage, allSettings(), stdout, stderr)
	f.optionalEnv = true // local makes up what it is not given
	runDemo := f.Bool("demo", false, "once ready, walk one made-up user through the whole story and print each step (needs the bundled emulator)")
	if help, err := f.parse(args); help || err != nil {
		return err
	}
	if f.NArg() != 0 {
		return f.fail("takes no arguments, got %q", f.Arg(0))
	}
	if ignore, why := staleLocalEnv(getenv); len(ignore) > 0 {
		fmt.Fprintln(stderr, staleNotice(ignore, why))
		getenv = withoutEnv(getenv, ignore)
	}
	env := map[string]string{
		"MAILPROOF_LISTEN":     "127.0.0.1:8080",
		"MAILPROOF_OPS_LISTEN": "127.0.0.1:9090",
		"MAILPROOF_LOG_FORMAT": "console",
		// A local Redis of one's own rarely persists; local mode warns instead of refusing.
		"MAILPROOF_REDIS_DURABILITY": server.DurabilityRelaxed,
	}
	embedded := getenv("MAILPROOF_REDIS_URL") == "" && getenv("MAILPROOF_REDIS_URL_FILE") == ""
	if embedded {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start embedded redis: %w", err)
		}
		defer mr.Close()
		env["MAILPROOF_REDIS_URL"] = "redis://" + mr.Addr() + "/0"
	}
	var tenant *auth0test.Tenant
	if getenv("MAILPROOF_AUTH0_DOMAIN") == "" {
		var err error
		tenant, err = auth0test.Start(auth0test.Config{
			ClientID:     getenv("MAILPROOF_AUTH0_CLIENT_ID"),
			ClientSecret: getenv("MAILPROOF_AUTH0_CLIENT_SECRET"),
			Plan:         localPlan,
		})
		if err != nil {
			return fmt.Errorf("start the Auth0 tenant emulator: %w", err)
		}
		defer tenant.Close()
		rate, err := auth0test.PlanRate(localPlan)
		if err != nil {
			return err
		}
		env["MAILPROOF_AUTH0_DOMAIN"] = tenant.Domain()
		env["MAILPROOF_AUTH0_CLIENT_ID"] = tenant.ClientID()
		env["MAILPROOF_AUTH0_CLIENT_SECRET"] = tenant.ClientSecret()
		env["MAILPROOF_AUTH0_CA_FILE"] = tenant.CAFile()
		// The budget an operator on that plan sets: 5 % under the plan's rate. Auth0
		// counts a call when it arrives and the budget when it sends it, so at exactly
		// the plan's rate a call that lands a little late (the first after a token fetch)
		// can meet a 429 when the bucket is empty.
		env["MAILPROOF_AUTH0_RATE"] = strconv.FormatFloat(rate*0.95, 'f', -1, 64)
	}
	env["MAILPROOF_WEBHOOK_SECRETS"] = webhook.NewSecret()
	env["MAILPROOF_ADMIN_TOKEN"] = "mpadm_" + hex.EncodeToString(randomBytes(24))
	lookup := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		if getenv(k+"_FILE") != "" {
			return ""
		}
		return env[k]
	}
	cfg, err := server.LoadConfig(lookup)
	if err != nil {
		return err
	}
	if embedded && cfg.RedisMinReplicas > 0 {
		// A shell that holds a production deployment's exports would otherwise have every
		// event answered 503: the embedded Redis has no replica to confirm anything.
		fmt.Fprintf(stderr, "mailproof: MAILPROOF_REDIS_MIN_REPLICAS=%d ignored: the embedded Redis has no replicas to wait for\n", cfg.RedisMinReplicas)
		cfg.RedisMinReplicas = 0
	}
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // nothing useful to do if the last flush fails
	// With --demo, local ends when the demo does, with its result: 0 once the user reads
	// back verified, an error naming the step that failed otherwise.
	ctx, stopLocal := context.WithCancel(ctx)
	defer stopLocal()
	demoErr := make(chan error, 1)
	runErr := server.Run(ctx, server.Options{
		Config:        cfg,
		Log:           log,
		Registry:      prometheus.NewRegistry(),
		EmbeddedRedis: embedded,
		OnListen: func(a server.Addrs) {
			go func() {
				if !announce(ctx, a, cfg, tenant != nil, stdout, log) || !*runDemo {
					return
				}
				if tenant == nil {
					demoErr <- errors.New("--demo needs the bundled Auth0 emulator; unset MAILPROOF_AUTH0_DOMAIN to use it")
					stopLocal()
					return
				}
				err := demo(ctx, tenant, a, lookup, stdout)
				if err != nil && ctx.Err() == nil {
					log.Error("demo failed", zap.Error(err))
				}
				demoErr <- err
				stopLocal()
			}()
		},
	})
	select {
	case err := <-demoErr:
		return cmp.Or(err, runErr)
	default:
		return runErr
	}
}

// announce waits until /readyz answers 200 and then prints how to use this instance,
// including export lines another shell can paste to run CLI commands against it.
// bundled says whether local started the Auth0 emulator itself.
func announce(ctx context.Context, a server.Addrs, cfg server.Config, bundled bool, w io.Writer, log *zap.Logger) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + a.Ops + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	scheme := "http"
	if a.TLS {
		scheme = "https"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nmailproof is running locally and ready.\n\n")
	fmt.Fprintf(&b, "  receiver     %s://%s%s\n", scheme, a.Main, handlers.PostLoginPath)
	fmt.Fprintf(&b, "  status page  http://%s/\n", a.Ops)
	fmt.Fprintf(&b, "  metrics      http://%s/metrics\n", a.Ops)
	fmt.Fprintf(&b, "  Auth0        %s\n", auth0Label(cfg.Auth0Domain, bundled))
	fmt.Fprintf(&b, "\nIn another shell, paste these lines to point the CLI at this instance:\n\n")
	exports := []struct{ k, v string }{
		{"MAILPROOF_REDIS_URL", cfg.RedisURL},
		{"MAILPROOF_AUTH0_DOMAIN", cfg.Auth0Domain},
		{"MAILPROOF_AUTH0_CLIENT_ID", cfg.Auth0ClientID},
		{"MAILPROOF_AUTH0_CLIENT_SECRET", cfg.Auth0ClientSecret},
		{"MAILPROOF_AUTH0_CA_FILE", cfg.Auth0CAFile},
		{"MAILPROOF_WEBHOOK_SECRETS", strings.Join(cfg.WebhookSecrets, ",")},
		{"MAILPROOF_ADMIN_TOKEN", cfg.AdminToken},
		{"MAILPROOF_LISTEN", a.Main},
		{"MAILPROOF_OPS_LISTEN", a.Ops},
		{"MAILPROOF_URL", scheme + "://" + a.Main},
	}
	for _, e := range exports {
		if e.v != "" {
			fmt.Fprintf(&b, "export %s=%s\n", e.k, shellQuote(e.v))
		}
	}
	fmt.Fprintf(&b, "\nCtrl-C stops everything.\n")
	fmt.Fprint(w, b.String())
	log.Info("local mode ready", zap.String("main", a.Main), zap.String("ops", a.Ops))
	return true
}

// auth0Label names the Auth0 this instance talks to: the emulator local started, or
// whatever MAILPROOF_AUTH0_DOMAIN points at (a real tenant, or an emulator started
// elsewhere: its address alone does not make it the bundled one).
func auth0Label(domain string, bundled bool) string {
	if bundled {
		return "https://" + domain + " (bundled emulator, started by mailproof local)"
	}
	return "Auth0 tenant at " + domain + " (from MAILPROOF_AUTH0_DOMAIN)"
}

// shellQuote makes a value safe to paste into a POSIX shell.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:,@+=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}
