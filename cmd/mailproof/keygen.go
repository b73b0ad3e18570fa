package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mailproof/mailproof/webhook"
)

const keygenUsage = `Usage:
  mailproof keygen [hmac] [--out FILE]
  mailproof keygen ed25519 [--out FILE]

Prints a new webhook signing key made from crypto/rand.

hmac (the default) is a whsec_ secret the post-login Action and every receiver share:
put it in MAILPROOF_WEBHOOK_SECRETS (or name the file in MAILPROOF_WEBHOOK_SECRETS_FILE);
'mailproof action deploy' gives the Action the first whsec_ entry.

ed25519 is a key pair. The whsk_ private key (first line) is the Action's alone: give
it with 'mailproof action deploy --secret-file'. The whpk_ public key (second line) goes
in the receivers' MAILPROOF_WEBHOOK_SECRETS; they never need the private key.

With --out FILE the secret (whsec_ or whsk_) is written to FILE, readable by its owner
only, and an ed25519 public key to FILE.pub; an existing file is never replaced.`

// keygen is `mailproof keygen`: new keys without a shell one-liner.
func keygen(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("keygen", keygenUsage, nil, stdout, stderr)
	out := fs.String("out", "", "write the secret to this file (mode 0600), and an ed25519 public key to FILE.pub, instead of printing them")
	rest, help, err := fs.parseInterleaved(args)
	if err != nil || help {
		return err
	}
	if len(rest) > 1 {
		return fs.fail("give one kind of key, hmac or ed25519")
	}
	kind := "hmac"
	if len(rest) == 1 {
		kind = rest[0]
	}
	var secret, public string
	switch kind {
	case "hmac":
		secret = webhook.NewSecret()
	case "ed25519":
		secret, public = webhook.NewKeyPair()
	default:
		return fs.fail("unknown kind of key %q: want hmac or ed25519", kind)
	}
	if *out != "" {
		return writeKeys(*out, secret, public, stdout)
	}
	fmt.Fprintln(stdout, secret)
	if public != "" {
		fmt.Fprintln(stdout, public)
		fmt.Fprintln(stderr, "line 1: the whsk_ private key, for the Action (mailproof action deploy --secret-file FILE)")
		fmt.Fprintln(stderr, "line 2: the whpk_ public key, for the receivers' MAILPROOF_WEBHOOK_SECRETS")
	}
	return nil
}

// writeKeys writes secret to path, readable by its owner only, and public, if any, to
// path.pub. It replaces neither: an overwritten key is a lost one, and the receivers or
// the Action may still hold it.
func writeKeys(path, secret, public string, stdout io.Writer) error {
	k, err := webhook.ParseKey(secret)
	if err != nil {
		return err // cannot happen: keygen made it
	}
	if err := writeNew(path, secret, 0o600); err != nil {
		return err
	}
	if public == "" {
		fmt.Fprintf(stdout, "wrote the whsec_ secret %s to %s: MAILPROOF_WEBHOOK_SECRETS_FILE=%s on the receivers; the Action gets it from 'mailproof action deploy'\n",
			k.ID(), path, shellQuote(path))
		return nil
	}
	if err := writeNew(path+".pub", public, 0o644); err != nil {
		return errors.Join(err, os.Remove(path))
	}
	fmt.Fprintf(stdout, "wrote the whsk_ private key %s to %s: for the Action, 'mailproof action deploy --secret-file %s'\n", k.ID(), path, shellQuote(path))
	fmt.Fprintf(stdout, "wrote the whpk_ public key %s to %s.pub: MAILPROOF_WEBHOOK_SECRETS_FILE=%s.pub on the receivers\n", k.ID(), path, shellQuote(path))
	return nil
}

// writeNew creates path with mode and writes key to it, refusing an existing file.
func writeNew(path, key string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("keygen: write %s: %w", path, err)
	}
	return nil
}
