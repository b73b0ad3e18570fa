package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailproof/mailproof/store"
)

const dlqUsage = `Usage:
  mailproof dlq list [--limit N] [--json]   jobs that exhausted their retries, newest first
  mailproof dlq replay ID|--all             put dead letters back on the job queue as fresh jobs

Reads MAILPROOF_REDIS_URL (or MAILPROOF_REDIS_URL_FILE).
'mailproof dlq CMD --help' prints a command's flags.`

const dlqListUsage = `Usage:
  mailproof dlq list [--limit N] [--json]

Lists the jobs that exhausted their retries (MAILPROOF_MAX_ATTEMPTS), newest first,
with the error that ended each. Their payloads, which hold addresses, are left out.`

const dlqReplayUsage = `Usage:
  mailproof dlq replay ID     ID as the ID column of 'mailproof dlq list' prints it
  mailproof dlq replay --all

Puts dead letters back on the job queue as fresh jobs (attempt 1), once whatever
made them fail is fixed. --all replays, oldest first, those there are when it starts.`

// dlqGroup is `mailproof dlq SUBCOMMAND`.
func dlqGroup() command {
	return command{name: "dlq", synopsis: "dlq CMD", summary: "list or replay jobs that exhausted their retries",
		usage: dlqUsage, subs: []command{
			{name: "list", run: dlqList},
			{name: "replay", run: dlqReplay},
		}}
}

// deadLetterJSON is one dead letter as --json prints it. The payload is left out: it is
// the login event, email address included, and a listing has no need for it.
type deadLetterJSON struct {
	ID           string    `json:"id"`
	DiedAt       time.Time `json:"died_at"`
	UserID       string    `json:"user_id"`
	WebhookID    string    `json:"webhook_id"`
	JobID        string    `json:"job_id"`
	Attempt      int       `json:"attempt"`
	EnqueuedAt   time.Time `json:"enqueued_at"`
	Error        string    `json:"error"`
	PayloadBytes int       `json:"payload_bytes"`
}

func dlqList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq list", dlqListUsage, redisSettings, stdout, stderr)
	limit := fs.Int("limit", store.DefaultListLimit, fmt.Sprintf("how many dead letters, newest first (at most %d)", store.MaxListLimit))
	asJSON := fs.Bool("json", false, "one JSON object per line instead of a table")
	if done, err := parseListFlags(fs, args, limit); done || err != nil {
		return err
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	dead, err := rdb.ListDLQ(ctx, *limit)
	if err != nil {
		return fmt.Errorf("read the dead letters: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, d := range dead {
			if err := enc.Encode(deadLetterJSON{
				ID: d.ID, DiedAt: d.DiedAt.UTC(), UserID: d.Job.UserID, WebhookID: d.Job.WebhookID, JobID: d.Job.ID,
				Attempt: d.Job.Attempt, EnqueuedAt: d.Job.EnqueuedAt.UTC(), Error: d.Error, PayloadBytes: len(d.Job.Payload),
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(dead) == 0 {
		fmt.Fprintln(stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIED AT\tUSER\tATTEMPT\tWEBHOOK ID\tERROR")
	for _, d := range dead {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.DiedAt.UTC().Format(time.RFC3339), oneLine(d.Job.UserID),
			d.Job.Attempt, oneLine(d.Job.WebhookID), oneLine(d.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(dead) == *limit {
		fmt.Fprintf(stdout, "(showing the newest %d; raise --limit for more)\n", *limit)
	}
	return nil
}

func dlqReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq replay", dlqReplayUsage, redisSettings, stdout, stderr)
	all := fs.Bool("all", false, "replay every dead letter there is when the command starts")
	rest, help, err := fs.parseInterleaved(args)
	if err != nil || help {
		return err
	}
	if *all == (len(rest) == 1) || len(rest) > 1 {
		return fs.fail("give exactly one dead-letter ID, or --all")
	}
	var id string
	if !*all {
		id = rest[0]
		if !validStreamID(id) {
			return usagef("dlq replay: %q is not a dead-letter ID: use the ID column of 'mailproof dlq list', such as 1732443303120-0", id)
		}
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if !*all {
		jobID, err := rdb.ReplayDLQ(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("dlq replay: no dead letter with ID %s (replayed already, or trimmed; see 'mailproof dlq list')", id)
		}
		if err != nil {
			return fmt.Errorf("dlq replay %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "replayed %s as job %s\n", id, jobID)
		return nil
	}
	n, err := replayAll(ctx, rdb, stdout)
	fmt.Fprintf(stdout, "replayed %d dead letters\n", n)
	if err != nil {
		return fmt.Errorf("dlq replay --all: %w", err)
	}
	return nil
}

// replayAll replays, oldest first, the dead letters that existed when it started. A job
// that dies again while it runs gets a newer ID than the newest one seen at the start and
// is left alone, so a job that fails at once cannot keep the command going forever.
func replayAll(ctx context.Context, rdb *store.Redis, stdout io.Writer) (int, error) {
	var boundary string // the newest dead letter at the start
	n := 0
	for {
		dead, err := rdb.ListDLQ(ctx, store.MaxListLimit)
		if err != nil {
			return n, err
		}
		if boundary == "" {
			if len(dead) == 0 {
				return 0, nil
			}
			boundary = dead[0].ID
		}
		slices.Reverse(dead) // the page is newest first
		progressed := false
		for _, d := range dead {
			if streamIDLess(boundary, d.ID) {
				continue
			}
			jobID, err := rdb.ReplayDLQ(ctx, d.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue // another operator replayed it meanwhile
			}
			if err != nil {
				return n, fmt.Errorf("replay %s: %w", d.ID, err)
			}
			fmt.Fprintf(stdout, "replayed %s (user %s) as job %s\n", d.ID, oneLine(d.Job.UserID), jobID)
			n++
			progressed = true
		}
		// A page holding only newer dead letters ends the run: more than a page of jobs
		// died during it, and the remaining old ones need another run.
		if !progressed {
			return n, nil
		}
	}
}

// parseStreamID splits a Redis stream entry ID, milliseconds-sequence, into its numbers.
func parseStreamID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, found && err1 == nil && err2 == nil
}

// validStreamID tells an ID Redis would accept from one it would answer with a syntax
// error, so a typo gets a clear message instead of Redis's.
func validStreamID(id string) bool {
	_, _, ok := parseStreamID(id)
	return ok
}

// streamIDLess orders two stream IDs as Redis does: by milliseconds, then sequence.
func streamIDLess(a, b string) bool {
	am, as, _ := parseStreamID(a)
	bm, bs, _ := parseStreamID(b)
	if am != bm {
		return am < bm
	}
	return as < bs
}
