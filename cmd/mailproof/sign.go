package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/webhook"
)

// sign signs a JSON body exactly as the Action does and prints the three Standard
// Webhooks headers, or a ready curl command with --curl.
func sign(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", "", "whsec_… (or whsk_…) signing secret; default: the first whsec_ entry of MAILPROOF_WEBHOOK_SECRETS (or its _FILE)")
	secretFile := fs.String("secret-file", "", "read the secret from this file instead (keeps it out of shell history)")
	id := fs.String("id", "", "webhook-id (default: a fresh msg_… id)")
	ts := fs.String("timestamp", "", "webhook-timestamp in Unix seconds (default: now)")
	curl := fs.String("curl", "", "print a curl command POSTing to this base URL (e.g. $MAILPROOF_URL) instead of the bare headers")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproof sign [--secret whsec_…] [--id ID] [--timestamp UNIX] [--curl URL] FILE|-")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	key, err := signingSecret(*secret, *secretFile, getenv)
	if err != nil {
		return err
	}
	var body []byte
	if name := fs.Arg(0); name == "-" {
		body, err = io.ReadAll(os.Stdin)
	} else {
		body, err = os.ReadFile(name)
	}
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	at := time.Now()
	if *ts != "" {
		// The receiver's own rule: a looser one would print a header other than the
		// one given, or accept what the receiver refuses.
		n, ok := webhook.ParseTimestamp(*ts)
		if !ok {
			return fmt.Errorf("--timestamp %q must be Unix seconds in plain decimal (no sign or leading zero)", *ts)
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
		return "", errors.New("give --secret or --secret-file, not both")
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
