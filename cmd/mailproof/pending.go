package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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

Reads MAILPROOF_REDIS_URL (or MAILPROOF_REDIS_URL_FILE); add also the MAILPROOF_AUTH0_* variables.`

// pending dispatches `mailproof pending SUBCOMMAND`.
func pending(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, pendingUsage)
		return errUsage
	}
	switch args[0] {
	case "list", "ls":
		return pendingList(ctx, args[1:], getenv, stdout, stderr)
	case "show", "get":
		return pendingShow(ctx, args[1:], getenv, stdout, stderr)
	case "rm", "delete":
		return pendingRm(ctx, args[1:], getenv, stdout, stderr)
	case "add":
		return pendingAdd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, pendingUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown pending command %q\n\n%s\n", args[0], pendingUsage)
	return errUsage
}

func pendingList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pending list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", store.DefaultListLimit, fmt.Sprintf("how many records per page (at most %d)", store.MaxListLimit))
	cursor := fs.String("cursor", "", "continue after the page that printed this cursor")
	asJSON := fs.Bool("json", false, `print {"records": [...], "next_cursor": "..."} as the admin API does`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproof pending list [--limit N] [--cursor C] [--json]")
		fs.PrintDefaults()
	}
	if done, err := parseListFlags(fs, args, limit, stderr); done || err != nil {
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
	fs := flag.NewFlagSet("pending show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the record as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproof pending show [--json] USER_ID   e.g. 'auth0|6560c1f2e4b0a1b2c3d4e5f6' (quote the |)")
		fs.PrintDefaults()
	}
	id, help, err := oneUserID(fs, args, stderr)
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
	fs := flag.NewFlagSet("pending rm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproof pending rm USER_ID   e.g. 'auth0|6560c1f2e4b0a1b2c3d4e5f6' (quote the |)")
	}
	id, help, err := oneUserID(fs, args, stderr)
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
func oneUserID(fs *flag.FlagSet, args []string, stderr io.Writer) (id string, help bool, err error) {
	rest, help, err := parseInterleaved(fs, args)
	if err != nil || help {
		return "", help, err
	}
	if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
		fmt.Fprintln(stderr, "give exactly one user id")
		fs.Usage()
		return "", false, errUsage
	}
	return rest[0], false, nil
}

// parseListFlags parses a list command's flags, which take no positional argument, and
// checks the parsed --limit. done is true when -h printed the usage: nothing is left to do.
func parseListFlags(fs *flag.FlagSet, args []string, limit *int, stderr io.Writer) (done bool, err error) {
	rest, help, err := parseInterleaved(fs, args)
	if err != nil || help {
		return true, err
	}
	if len(rest) != 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", rest[0])
		fs.Usage()
		return true, errUsage
	}
	if err := checkLimit(*limit, stderr); err != nil {
		return true, err
	}
	return false, nil
}

// parseInterleaved parses flags that may come before or after the positional arguments
// (`pending show ID --json` as well as `pending show --json ID`), which the flag package
// alone stops at. help is true when -h was asked for and usage printed. A lone "--" ends
// the flags, for an argument that starts with a dash.
func parseInterleaved(fs *flag.FlagSet, args []string) (rest []string, help bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, errUsage
		}
		if consumed := len(args) - fs.NArg(); consumed > 0 && args[consumed-1] == "--" {
			return append(rest, fs.Args()...), false, nil
		}
		if fs.NArg() == 0 {
			return rest, false, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// checkLimit refuses a --limit the store would silently change.
func checkLimit(limit int, stderr io.Writer) error {
	if limit < 1 || limit > store.MaxListLimit {
		fmt.Fprintf(stderr, "--limit must be 1 to %d\n", store.MaxListLimit)
		return errUsage
	}
	return nil
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
	if len(args) == 0 || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-") }) {
		fmt.Fprintln(stderr, "usage: mailproof pending add USER_ID...")
		return errUsage
	}
	p, closeAll, err := openProvisioner(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	failed := 0
	for _, id := range args {
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
		return fmt.Errorf("%d of %d users not registered", failed, len(args))
	}
	return nil
}
