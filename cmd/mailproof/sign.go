package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

const signUsage = `Usage:
  mailproof sign [--secret whsec_…|--secret-file F] [--id ID] [--timestamp UNIX] [--curl URL] FILE|-

Signs the JSON body in FILE (or standard input, -) exactly as the post-login Action
does and prints the webhook-id, webhook-timestamp and webhook-signature headers or,
with --curl, a curl command that posts the body to the receiver: for trying the
receiver by hand and for finding why a signature does not match.

Without --secret or --secret-file it signs with the first whsec_ entry of
MAILPROOF_WEBHOOK_SECRETS (or of the file MAILPROOF_WEBHOOK_SECRETS_FILE names), the
variable serve reads.`

// sign signs a JSON body exactly as the Action does and prints the three Standard
// Webhooks headers, or a ready curl command with --curl.
func sign(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("sign", signUsage, nil, stdout, stderr)
	secret := fs.String("secret", "", "whsec_… (or whsk_…) signing secret; default: the first whsec_ entry of MAILPROOF_WEBHOOK_SECRETS (or its _FILE)")
	secretFile := fs.String("secret-file", "", "read the secret from this file instead (keeps it out of shell history)")
	id := fs.String("id", "", "webhook-id (default: a fresh msg_… id)")
	ts := fs.String("timestamp", "", "webhook-timestamp in Unix seconds (default: now)")
	curl := fs.String("curl", "", "print a curl command POSTing to this base URL (e.g. $MAILPROOF_URL) instead of the bare headers")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fs.fail("give one FILE holding the JSON body, or - for standard input")
	}
	// A FILE is read first: a missing one is the mistake to hear about before the
	// secret. Standard input waits until the secret is known, not to block on a pipe
	// only to fail.
	var body []byte
	var err error
	name := fs.Arg(0)
	if name != "-" {
		if body, err = os.ReadFile(name); err != nil {
			return fmt.Errorf("read body: %w", err)
		}
	}
	key, err := signingSecret(*secret, *secretFile, getenv)
	if err != nil {
		return err
	}
	if name == "-" {
		if body, err = io.ReadAll(os.Stdin); err != nil {
			return fmt.Errorf("read body: %w", err)
		}
	}
	at := time.Now()
	if *ts != "" {
		// The receiver's own rule: a looser one would print a header other than the
		// one given, or accept what the receiver refuses.
		n, ok := webhook.ParseTimestamp(*ts)
		if !ok {
			return usagef("--timestamp %q must be Unix seconds in plain decimal (no sign or leading zero)", *ts)
		}
		at = time.Unix(n, 0)
	}
	if *id == "" {
		*id = webhook.NewMessageID()
	}
	sig, err := webhook.Sign(key, *id, at, body)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	headers := [][2]string{
		{"webhook-id", *id},
		{"webhook-timestamp", strconv.FormatInt(at.Unix(), 10)},
		{"webhook-signature", sig},
	}
	if *curl == "" {
		for _, h := range headers {
			fmt.Fprintf(stdout, "%s: %s\n", h[0], h[1])
		}
		return nil
	}
	fmt.Fprintf(stdout, "curl -sS -X POST %s \\\n  -H 'content-type: application/json'", shellQuote(strings.TrimRight(*curl, "/")+"/v1/events/post-login"))
	for _, h := range headers {
		fmt.Fprintf(stdout, " \\\n  -H %s", shellQuote(h[0]+": "+h[1]))
	}
	fmt.Fprintf(stdout, " \\\n  --data-binary %s\n", shellQuote(string(body)))
	return nil
}

func signingSecret(flagValue, file string, getenv func(string) string) (string, error) {
	switch {
	case flagValue != "" && file != "":
		return "", usagef("give --secret or --secret-file, not both")
	case flagValue != "":
		return flagValue, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--secret-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	secrets, err := server.LookupEnv(getenv, "MAILPROOF_WEBHOOK_SECRETS", true)
	if err != nil {
		return "", err
	}
	for _, s := range strings.Split(secrets, ",") {
		if s = strings.TrimSpace(s); strings.HasPrefix(s, "whsec_") {
			return s, nil
		}
	}
	return "", errors.New("no signing secret: pass --secret whsec_… or set MAILPROOF_WEBHOOK_SECRETS")
}
