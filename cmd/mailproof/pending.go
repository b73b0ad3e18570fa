package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
)

const pendingUsage = `Usage:
  mailproof pending list [--limit N] [--cursor C] [--json]   users waiting for mailbox proof, newest first
  mailproof pending show [--json] USER_ID                    one user's record, in any status
  mailproof pending rm USER_ID                               remove a user's record: mailproof stops watching them
  mailproof pending add USER_ID...                           register existing Auth0 users (unverified, on a
                                                             database connection) as waiting for proof; each
                                                             gets app_metadata.mailproof, which the reconcile
                                                             sweep finds users by

Reads MAILPROOF_REDIS_URL (or MAILPROOF_REDIS_URL_FILE); add also the MAILPROOF_AUTH0_* variables.
'mailproof pending CMD --help' prints a command's flags and variables.`

const pendingListUsage = `Usage:
  mailproof pending list [--limit N] [--cursor C] [--json]

Lists the users waiting for mailbox proof, newest first, a page at a time; the table
masks addresses (show and --json print them whole).`

const pendingShowUsage = `Usage:
  mailproof pending show [--json] USER_ID     e.g. 'auth0|6560c1f2e4b0a1b2c3d4e5f6' (quote the |)

Prints one user's pending record in any status (pending, verified, closed and why),
with its full address and times.`

const pendingRmUsage = `Usage:
  mailproof pending rm USER_ID     e.g. 'auth0|6560c1f2e4b0a1b2c3d4e5f6' (quote the |)

Removes a user's pending record: mailproof stops watching the user and will not verify
them. The audit trail records the removal.`

const pendingAddUsage = `Usage:
  mailproof pending add USER_ID...

Registers existing Auth0 users, as POST /v1/pending does: each must exist, be
unverified and be on a database connection, and gets app_metadata.mailproof (which
the reconcile sweep finds users by) before its record. A record's provisioning time is
the moment it is registered, so send the reset email after this, not before.`

// pendingGroup is `mailproof pending SUBCOMMAND`.
func pendingGroup() command {
	return command{name: "pending", synopsis: "pending CMD", summary: "list, show, add or rm (remove) the records of users awaiting proof",
		usage: pendingUsage, subs: []command{
			{name: "list", aliases: []string{"ls"}, run: pendingList},
			{name: "show", aliases: []string{"get"}, run: pendingShow},
			{name: "rm", aliases: []string{"delete"}, run: pendingRm},
			{name: "add", run: pendingAdd},
		}}
}

func pendingList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("pending list", pendingListUsage, redisSettings, stdout, stderr)
	limit := fs.Int("limit", store.DefaultListLimit, fmt.Sprintf("how many records per page (at most %d)", store.MaxListLimit))
	cursor := fs.String("cursor", "", "continue after the page that printed this cursor")
	asJSON := fs.Bool("json", false, `print {"records": [...], "next_cursor": "..."} as the admin API does`)
	if done, err := parseListFlags(fs, args, limit); done || err != nil {
		return err
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	recs, next, err := rdb.ListPending(ctx, *cursor, *limit)
	if errors.Is(err, store.ErrBadCursor) {
		return errors.New("pending list: --cursor is not one this command printed; start again without it")
	}
	if err != nil {
		return fmt.Errorf("list pending records: %w", err)
	}
	if *asJSON {
		if recs == nil {
			recs = []store.Record{}
		}
		return json.NewEncoder(stdout).Encode(handlers.PendingPage{Records: recs, NextCursor: next}) // the admin API's shape: one parser reads both
	}
	if len(recs) == 0 {
		fmt.Fprintln(stdout, "no pending records")
		return nil
	}
	// The table masks addresses: it is what ends up in screenshots and tickets. show and
	// --json give the whole record.
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSTATUS\tEMAIL\tCONNECTION\tPROVISIONED\tEXPIRES")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", oneLine(r.UserID), r.Status, oneLine(event.MaskEmail(r.Email)),
			oneLine(r.Connection), clockOrDash(r.ProvisionedAt), clockOrDash(r.ExpiresAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(stdout, "more: mailproof pending list --limit %d --cursor %s\n", *limit, next)
	}
	return nil
}

func pendingShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("pending show", pendingShowUsage, redisSettings, stdout, stderr)
	asJSON := fs.Bool("json", false, "print the record as JSON")
	id, help, err := oneUserID(fs, args)
	if err != nil || help {
		return err
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	rec, err := rdb.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("pending show: no record for user %s (never provisioned, removed, or past its retention)", oneLine(id))
	}
	if err != nil {
		return fmt.Errorf("pending show: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rec)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, f := range []struct{ k, v string }{
		{"user", oneLine(rec.UserID)},
		{"status", rec.Status},
		{"outcome", rec.Outcome},
		{"email", oneLine(rec.Email)},
		{"connection", oneLine(rec.Connection)},
		{"provisioned", clockOrDash(rec.ProvisionedAt)},
		{"expires", clockOrDash(rec.ExpiresAt)},
		{"held by", oneLine(rec.Holder)},
		{"created", clockOrDash(rec.CreatedAt)},
		{"updated", clockOrDash(rec.UpdatedAt)},
	} {
		if f.v == "" {
			f.v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.k, f.v)
	}
	return tw.Flush()
}

func pendingRm(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("pending rm", pendingRmUsage, redisSettings, stdout, stderr)
	id, help, err := oneUserID(fs, args)
	if err != nil || help {
		return err
	}
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer rdb.Close()
	removed, err := rdb.DeletePending(ctx, id)
	if err != nil {
		return fmt.Errorf("pending rm: %w", err)
	}
	if !removed {
		return fmt.Errorf("pending rm: no record for user %s; nothing removed", oneLine(id))
	}
	if err := rdb.Note(ctx, id, store.AuditDeleted, store.AuditByCLI, ""); err != nil {
		fmt.Fprintf(stderr, "pending rm: the record is gone, but the audit trail could not record it: %v\n", err)
	}
	fmt.Fprintf(stdout, "removed the record of %s: mailproof will not verify this user\n", oneLine(id))
	return nil
}

// oneUserID parses flags and exactly one user id argument, in any order.
func oneUserID(fs *flags, args []string) (id string, help bool, err error) {
	rest, help, err := fs.parseInterleaved(args)
	if err != nil || help {
		return "", help, err
	}
	if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
		return "", false, fs.fail("give exactly one user id")
	}
	return rest[0], false, nil
}

// parseListFlags parses a list command's flags, which take no positional argument, and
// checks the parsed --limit. done is true when -h printed the usage: nothing is left to do.
func parseListFlags(fs *flags, args []string, limit *int) (done bool, err error) {
	rest, help, err := fs.parseInterleaved(args)
	if err != nil || help {
		return true, err
	}
	if len(rest) != 0 {
		return true, fs.fail("unexpected argument %q", rest[0])
	}
	// The store would silently change a --limit outside these bounds.
	if *limit < 1 || *limit > store.MaxListLimit {
		return true, fs.fail("--limit must be 1 to %d", store.MaxListLimit)
	}
	return false, nil
}

// oneLine quotes a value holding control characters, so a crafted user id or error
// cannot break the table or send escape sequences to the terminal.
func oneLine(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// clockOrDash prints a time in UTC, or "-" for none.
func clockOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// pendingAdd registers existing users, as POST /v1/pending does: each must exist in
// Auth0, be unverified and be on a database connection, and gets mailproof's
// app_metadata marker (one more Management API call if it lacks it) before its record.
// A record's provisioning time is the moment it is registered, so send the reset email
// after this, not before.
func pendingAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("pending add", pendingAddUsage, tenantSettings(), stdout, stderr)
	ids, help, err := fs.parseInterleaved(args)
	if err != nil || help {
		return err
	}
	if len(ids) == 0 {
		return fs.fail("give at least one user id")
	}
	p, closeAll, err := openProvisioner(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	failed := 0
	for _, id := range ids {
		rec, created, err := p.Register(ctx, id, store.AuditByCLI)
		switch {
		case err != nil:
			failed++
			fmt.Fprintf(stderr, "%s: %v\n", oneLine(id), err)
		case created:
			fmt.Fprintf(stdout, "registered\t%s\t%s\t%s\n", oneLine(rec.UserID), oneLine(event.MaskEmail(rec.Email)), rec.Connection)
		default:
			fmt.Fprintf(stdout, "already pending\t%s\t%s\t%s\n", oneLine(rec.UserID), oneLine(event.MaskEmail(rec.Email)), rec.Connection)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d users not registered", failed, len(ids))
	}
	return nil
}
