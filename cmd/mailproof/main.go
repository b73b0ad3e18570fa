// Command mailproof flips email_verified on Auth0 users once a login proves they control
// their mailbox. See the README for the subcommands.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mailproof:", err)
		os.Exit(1)
	}
}
