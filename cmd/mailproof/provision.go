package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
)

const provisionUsage = `Usage:
  mailproof provision --email E [--name N] [--connection C] [--delivery reset-email|ticket]
                      [--result-url URL] [--ticket-ttl D] [--adopt] [--json]
  mailproof provision --resend USER_ID [--delivery reset-email|ticket] [--result-url URL]
  mailproof provision --csv FILE [--dry-run] [--concurrency N] [--results FILE]

Creates the user in Auth0 with email_verified false and a random password nobody
knows, registers it with mailproof, then sends Auth0's reset-password email (or
creates a password-change ticket and prints its URL). Running the same command
again after an interruption finishes the job without creating or emailing anyone
twice.`

// provisionCmd is `mailproof provision`.
func provisionCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("provision", provisionUsage, tenantSettings(), stdout, stderr)
	email := fs.String("email", "", "the address of the user to provision")
	name := fs.String("name", "", "the user's name")
	connection := fs.String("connection", "", "the database connection (default "+proof.DefaultConnection+")")
	delivery := fs.String("delivery", proof.DeliveryResetEmail, "reset-email (Auth0 mails the link) or ticket (the URL is printed for your own mail)")
	resultURL := fs.String("result-url", "", "ticket only: where Auth0 sends the person after setting a password")
	ticketTTL := fs.Duration("ticket-ttl", 0, "ticket only: how long the link works (default: Auth0's)")
	adopt := fs.Bool("adopt", false, "register an existing user mailproof did not create (if unverified, on a database connection)")
	resend := fs.String("resend", "", "deliver the link again to this pending user id")
	csvFile := fs.String("csv", "", "provision every row of this CSV file (columns email, name, connection, delivery)")
	dryRun := fs.Bool("dry-run", false, "with --csv: check the file and print what would be done; call nothing")
	concurrency := fs.Int("concurrency", 4, "with --csv: rows provisioned at once")
	results := fs.String("results", "", "with --csv: where to write the results CSV (default FILE.results.csv)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	modes := 0
	for _, set := range []bool{*email != "", *resend != "", *csvFile != ""} {
		if set {
			modes++
		}
	}
	if modes != 1 || fs.NArg() != 0 {
		return fs.fail("give exactly one of --email, --resend or --csv, and no arguments")
	}
	if *csvFile != "" {
		return provisionCSV(ctx, csvOptions{Path: *csvFile, DryRun: *dryRun, Concurrency: *concurrency, Results: *results,
			Defaults: proof.ProvisionRequest{Connection: *connection, Delivery: *delivery, ResultURL: *resultURL, TicketTTL: *ticketTTL, Adopt: *adopt, By: store.AuditByCLI}},
			getenv, stdout, stderr)
	}
	p, closeAll, err := openProvisioner(ctx, getenv, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	req := proof.ProvisionRequest{Email: *email, Name: *name, Connection: *connection, Delivery: *delivery,
		ResultURL: *resultURL, TicketTTL: *ticketTTL, Adopt: *adopt, By: store.AuditByCLI}
	var res proof.ProvisionResult
	if *resend != "" {
		res, err = p.Resend(ctx, *resend, req)
	} else {
		res, err = p.Provision(ctx, req)
	}
	if err != nil {
		var exists *proof.UserExistsError
		if errors.As(err, &exists) {
			return fmt.Errorf("user_exists: %s holds this address and was not created by mailproof; add --adopt to register it", exists.UserID)
		}
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"status": res.Status, "record": res.Record, "ticket_url": res.TicketURL})
	}
	fmt.Fprintf(stdout, "%s\t%s\t%s\tdeliveries %d\n", res.Status, res.Record.UserID, event.MaskEmail(res.Record.Email), res.Record.Deliveries)
	if res.TicketURL != "" {
		fmt.Fprintf(stdout, "ticket\t%s\n", res.TicketURL)
	}
	if res.Status == proof.ProvisionUncertain {
		fmt.Fprintf(stdout, "an earlier run was cut off while sending the email: it may or may not have left. Check, then: mailproof provision --resend %s\n", res.Record.UserID)
	}
	return nil
}

// openProvisioner builds provisioning from the environment: Redis, the Auth0 client and
// the shared budgets, as serve has them. closeAll releases them.
func openProvisioner(ctx context.Context, getenv func(string) string, stderr io.Writer) (*proof.Provisioner, func(), error) {
	t, err := openTenant(ctx, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	return server.NewProvisioner(t.cfg, t.rdb, t.a0, t.log), t.Close, nil
}

// provisionCSV runs `provision --csv`: the flags give every row's defaults, and the exit
// status says whether any row still needs a re-run or a decision.
func provisionCSV(ctx context.Context, opts csvOptions, getenv func(string) string, stdout, stderr io.Writer) error {
	var p provisioner
	if !opts.DryRun {
		prov, closeAll, err := openProvisioner(ctx, getenv, stderr)
		if err != nil {
			return err
		}
		defer closeAll()
		p = prov
	}
	sum, err := runCSV(ctx, opts, p, stderr, term.IsTerminal(int(os.Stderr.Fd())))
	if err != nil {
		return err
	}
	return sum.rowsErr()
}
