package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/handlers"
)

// auth0Check is the readiness check of the Auth0 side, in the order an operator fixes
// things: the credentials obtain a token; the token carries the scopes the flip needs
// (auth0client.ServeScopes, read from the token itself, without a Management API call);
// Auth0 is not refusing the worker's calls for want of a scope (workerRefusal, which
// catches what the token's claims cannot show). A token without the provisioning scopes
// is a warning: serve flips without them, and provisioning would fail. The Action
// deploy's scopes are not checked: the running service never uses them.
func auth0Check(a0 *auth0client.Client, workerRefusal func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		err := a0.CheckScopes(ctx, auth0client.ServeScopes)
		switch {
		case errors.Is(err, auth0client.ErrMissingScope):
			return fmt.Errorf("the Management API token lacks a scope the flip needs: %w", err)
		case errors.Is(err, auth0client.ErrOpaqueToken):
			// Nothing to read: the worker's refusals still tell.
		case err != nil:
			return fmt.Errorf("cannot obtain a Management API token: %w", err)
		}
		if err := workerRefusal(ctx); err != nil {
			return fmt.Errorf("the worker's Management API calls are refused: %w", err)
		}
		if have, err := a0.TokenScopes(ctx); err == nil {
			if missing := auth0client.MissingScopes(have, auth0client.ProvisionScopes); len(missing) > 0 {
				return handlers.Warn(fmt.Errorf("provisioning (POST /v1/users, mailproof provision) will fail: %w",
					&auth0client.ScopeError{Missing: missing}))
			}
		}
		return nil
	}
}
