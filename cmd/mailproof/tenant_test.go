package main

import (
	"io"
	"strings"
	"testing"
)

// TestOpenTenantReportsEveryBadVariable: the CLI reads the Auth0 variables through serve's
// settings table, so every missing or bad one is named in one error, before any call.
func TestOpenTenantReportsEveryBadVariable(t *testing.T) {
	_, env := cliStore(t)
	env["MAILPROOF_AUTH0_RATE"] = "0"
	env["MAILPROOF_RECONCILE_EXPORT_ABOVE"] = "none"
	_, err := openTenant(t.Context(), func(k string) string { return env[k] }, io.Discard, "MAILPROOF_RECONCILE_EXPORT_ABOVE")
	if err == nil {
		t.Fatal("openTenant without the Auth0 variables succeeded")
	}
	for _, want := range []string{"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET", "MAILPROOF_AUTH0_RATE", "MAILPROOF_RECONCILE_EXPORT_ABOVE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}
