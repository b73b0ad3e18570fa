package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
)

// auth0Settings are the variables of every CLI command that calls the Management API:
// the credentials, and the shared budgets it must keep to beside serve's replicas.
var auth0Settings = []string{
	"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET",
	"MAILPROOF_AUTH0_CA_FILE", "MAILPROOF_AUTH0_TIMEOUT", "MAILPROOF_AUTH0_RATE", "MAILPROOF_AUTH0_AUTH_RATE",
}

// tenantSettings are the variables openTenant reads besides its extra ones.
func tenantSettings(extra ...string) []string {
	return slices.Concat(redisSettings, auth0Settings, extra)
}

// cliTenant is a CLI command's connection to Redis and Auth0, built as serve builds it.
type cliTenant struct {
	cfg server.Config // only the variables the command asked for are set
	rdb *store.Redis
	a0  *auth0client.Client
	log *zap.Logger // warnings and errors, on stderr
}

// openTenant reads MAILPROOF_REDIS_URL, the Auth0 variables and the extra ones named
// through serve's settings table (same defaults, same checks, every problem in one
// error), and connects to both. Close releases them.
func openTenant(ctx context.Context, getenv func(string) string, stderr io.Writer, extra ...string) (*cliTenant, error) {
	rdb, err := openStore(ctx, getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := server.LoadSettings(getenv, append(auth0Settings, extra...)...)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	a0, err := auth0client.New(ctx, cfg.Auth0Client())
	if err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("auth0 client: %w", err)
	}
	log, err := newLogger("console", "warn", stderr)
	if err != nil {
		log = zap.NewNop()
	}
	return &cliTenant{cfg: cfg, rdb: rdb, a0: a0, log: log}, nil
}

// Close releases the Redis connection.
func (t *cliTenant) Close() { _ = t.rdb.Close() }
