// Command mailproof flips email_verified on Auth0 users once a login proves they control
// their mailbox. See the README for the subcommands.
package main

import (
	"context"
	"os"
)

func main() {
	warnUnknownEnv(os.Environ(), os.Stderr)
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(exitStatus(err, os.Stderr))
}
