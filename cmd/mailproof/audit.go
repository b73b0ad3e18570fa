package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
)

const auditUsage = `Usage:
  mailproof audit [--user ID] [--limit N] [--json]

Prints the audit trail, newest first: what mailproof decided for whom and when (the
outcome code), what started the decision (a webhook, the reconcile sweep or an
operator), on which webhook and job attempt, and how often the job was told to wait.`

// redisSettings is what openStore reads: all that the commands using only Redis need.
var redisSettings = []string{"MAILPROOF_REDIS_URL", "MAILPROOF_REDIS_MIN_REPLICAS", "MAILPROOF_REDIS_TIMEOUT"}

// audit prints the decision trail, newest first: what mailproof decided for whom, when,
// on which event and attempt, and how often a job was told to wait before that.
func audit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", auditUsage, redisSettings, stdout, stderr)
	user := fs.String("user", "", "only this user id, e.g. 'auth0|6560c1f2e4b0a1b2c3d4e5f6'")
	limit := fs.Int("limit", 50, "how many entries, newest first")
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fs.fail("unexpected argument %q", fs.Arg(0))
	}
	if *limit < 1 {
		return fs.fail("--limit must be at least 1")
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	entries, err := rdb.Audit(ctx, *user, *limit)
	if err != nil {
		return fmt.Errorf("read the audit trail: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			line := struct {
				store.AuditEntry
				Source string `json:"source"`
			}{e, e.Source()}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "no audit entries")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	// SOURCE says what started the decision: a webhook, the reconcile sweep (its job
	// found the login in Auth0) or an operator. DEFERRAL is a job's run of deferrals,
	// audited once: its reason on the deferred entry that started it, "deferred ×37
	// (user_busy)" on the entry that ended it.
	fmt.Fprintln(tw, "TIME\tUSER\tOUTCOME\tSOURCE\tATTEMPT\tDEFERRAL\tWEBHOOK ID\tJOB ID\tBY\tERROR OR DETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.UserID, e.Outcome, e.Source(), e.Attempt,
			e.Deferral(), e.WebhookID, e.JobID, cmp.Or(e.By, "worker"), cmp.Or(e.Error, e.Detail))
	}
	return tw.Flush()
}

// openStore connects the CLI to Redis with only MAILPROOF_REDIS_URL (or its _FILE),
// MAILPROOF_REDIS_MIN_REPLICAS and MAILPROOF_REDIS_TIMEOUT: CLI commands must not need
// the whole server configuration, but the writes they make (reconcile's worker, a
// replayed dead letter) wait for the replicas as serve's do.
func openStore(ctx context.Context, getenv func(string) string) (*store.Redis, error) {
	url, err := server.LookupEnv(getenv, "MAILPROOF_REDIS_URL", true)
	if err != nil {
		return nil, err
	}
	if url == "" {
		return nil, errors.New("MAILPROOF_REDIS_URL is not set (with 'mailproof local' running, paste the export lines it printed)")
	}
	cfg, err := server.LoadSettings(getenv, "MAILPROOF_REDIS_MIN_REPLICAS", "MAILPROOF_REDIS_TIMEOUT", "MAILPROOF_RECORD_LAYOUT")
	if err != nil {
		return nil, err
	}
	rdb, err := store.Open(ctx, url, store.WithMinReplicas(cfg.RedisMinReplicas, cfg.RedisTimeout), store.WithRecordLayout(cfg.RecordLayout))
	if err != nil {
		return nil, fmt.Errorf("connect to Redis: %w", err)
	}
	return rdb, nil
}
