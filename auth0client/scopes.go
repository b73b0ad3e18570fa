package auth0client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The Management API scopes mailproof's calls need, by what needs them.
var (
	// ServeScopes: the worker's fresh read and flip (and taking a flip
	// back), and registering a user as pending (POST /v1/pending: the read
	// and the app_metadata marker). serve is not ready without them.
	ServeScopes = []string{"read:users", "update:users"}
	// ProvisionScopes: provisioning (POST /v1/users, mailproof provision):
	// creating the user, and the password-change ticket of "delivery":
	// "ticket".
	ProvisionScopes = []string{"create:users", "create:user_tickets"}
	// DeployScopes: mailproof action deploy (finding, creating, updating
	// and deploying the Action, binding it to post-login). The running
	// service never uses them.
	DeployScopes = []string{"read:actions", "create:actions", "update:actions"}
	// RequiredScopes is all of them, the grant INSTALL.md asks for. The
	// tenant emulator's default grant (auth0test.MailproofScopes) is the
	// same list.
	RequiredScopes = slices.Concat(ServeScopes, ProvisionScopes, DeployScopes)
)

// GrantScopeHint says where an operator grants a scope.
const GrantScopeHint = "in the Auth0 dashboard: Applications > APIs > Auth0 Management API > " +
	"Machine to Machine Applications, open mailproof's application, tick the scope, Update"

// ScopeError is the ErrMissingScope error.
type ScopeError struct {
	// Missing are the scopes to grant: on a 403, the one of Auth0's list
	// that RequiredScopes names (else its first); from CheckScopes, every
	// scope asked for that the token lacks.
	Missing []string
	// Expected is Auth0's "expected any of" list on a 403 (any one would
	// do); empty from CheckScopes.
	Expected []string
}

// newScopeError is the error of a 403 whose message listed expected.
func newScopeError(expected []string) *ScopeError {
	e := &ScopeError{Expected: expected}
	if i := slices.IndexFunc(expected, func(s string) bool { return slices.Contains(RequiredScopes, s) }); i >= 0 {
		e.Missing = expected[i : i+1]
	} else if len(expected) > 0 {
		e.Missing = expected[:1]
	}
	return e
}

// Error names the scopes to grant and where to grant them.
func (e *ScopeError) Error() string {
	msg := "auth0: missing Management API scope"
	switch len(e.Missing) {
	case 0:
		msg += " (Auth0 named none)"
	case 1:
		msg += " " + e.Missing[0]
	default:
		msg += "s " + strings.Join(e.Missing, ", ")
	}
	if len(e.Expected) > 1 {
		msg += " (Auth0 expected any of " + strings.Join(e.Expected, ", ") + ")"
	}
	if len(e.Missing) > 1 {
		return msg + ": grant them " + GrantScopeHint
	}
	return msg + ": grant it " + GrantScopeHint
}

// Is makes errors.Is(err, ErrMissingScope) hold, and with it ErrUnauthorized
// and ErrTransient.
func (e *ScopeError) Is(target error) bool { return errors.Is(ErrMissingScope, target) }

// insufficientScope reports whether a Management API error is Auth0's
// insufficient_scope refusal and returns the scopes it expected. go-auth0
// drops the errorCode, so the message tells: "403 Forbidden: Insufficient
// scope, expected any of: update:users,update:users_app_metadata" (Auth0's
// reference also writes "Insufficient scope; expected any of: a, b." and
// "Insufficient scope, expected: a."). A 403 for any other reason is not.
func insufficientScope(status int, message string) ([]string, bool) {
	if status != http.StatusForbidden {
		return nil, false
	}
	i := strings.Index(strings.ToLower(message), "insufficient scope")
	if i < 0 {
		return nil, false
	}
	rest := message[i+len("insufficient scope"):]
	j := strings.Index(strings.ToLower(rest), "expected")
	if j < 0 {
		return nil, true
	}
	rest = rest[j+len("expected"):]
	if _, list, ok := strings.Cut(rest, ":"); ok {
		rest = list
	}
	var scopes []string
	for _, f := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		f = strings.Trim(f, ".;'\"")
		if strings.Contains(f, ":") && !slices.Contains(scopes, f) {
			scopes = append(scopes, f)
		}
	}
	return scopes, true
}

// scopeRenewal paces the token renewals that scope errors ask for. A scope
// granted in the dashboard reaches only tokens issued afterwards, and the
// cached token lives up to a day, so a 403 for a scope renews the token;
// but Auth0 counts machine-to-machine tokens against a monthly quota, and a
// worker retrying every 30 s against a grant nobody fixed must not spend
// one each time. The first scope error renews at once (the token may
// predate a grant), then at most after 1, 2, 4, … minutes, up to an hour;
// a quiet spell longer than the current gap starts over.
type scopeRenewal struct {
	mu   sync.Mutex
	next time.Time
	gap  time.Duration
}

// due reports whether a scope error at now should renew the token, and if
// so schedules the next renewal.
func (s *scopeRenewal) due(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.next) {
		return false
	}
	if now.Sub(s.next) > s.gap {
		s.gap = 0
	}
	s.gap = min(max(2*s.gap, time.Minute), time.Hour)
	s.next = now.Add(s.gap)
	return true
}

// ErrOpaqueToken: the Management API token is not a JWT with a scope claim,
// so its scopes cannot be read (Auth0's are JWTs). It also matches
// ErrPermanent.
var ErrOpaqueToken error = &subError{msg: "auth0: the Management API token is not a JWT with a scope claim", parent: ErrPermanent}

// TokenScopes returns the scopes of the Management API token the client
// holds (fetching one if it has none), read from the token's payload: Auth0
// issues Management API tokens as JWTs whose scope claim lists what the
// application was granted when the token was issued. The signature is not
// checked: the client has no key for it and gains nothing by it, since
// Auth0 enforces the scopes on every call anyway. Like Ping, it spends no
// Management API budget.
func (c *Client) TokenScopes(ctx context.Context) ([]string, error) {
	ex, err := c.local(ctx)
	if err != nil {
		return nil, fmt.Errorf("auth0 token scopes: %w", err)
	}
	if !ex.scopesRead {
		return nil, ErrOpaqueToken
	}
	return ex.scopes, nil
}

// CheckScopes reports, as a *ScopeError, the scopes of need that the token
// lacks; nil when it has them all. It fails like TokenScopes when the token
// cannot be obtained or read. A token that lacks scopes is renewed, paced
// like the renewals after a 403 (scopeRenewal): a readiness check calling
// this every few seconds sees a grant made in the dashboard without a
// restart, and spends a token at most once an hour while nobody fixes it.
func (c *Client) CheckScopes(ctx context.Context, need []string) error {
	m := c.m.Load()
	have, err := c.TokenScopes(ctx)
	if err != nil {
		return err
	}
	if missing := MissingScopes(have, need); len(missing) > 0 {
		if c.scopeRenewal.due(time.Now()) {
			c.renew(m)
		}
		return &ScopeError{Missing: missing}
	}
	return nil
}

// MissingScopes returns the scopes of need that have lacks, in need's order.
func MissingScopes(have, need []string) []string {
	var missing []string
	for _, s := range need {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// jwtScopes reads the scope claim of a JWT's payload without verifying it;
// false when token is not a JWT or has no scope claim.
func jwtScopes(token string) ([]string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims struct {
		Scope *string `json:"scope"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Scope == nil {
		return nil, false
	}
	return strings.Fields(*claims.Scope), true
}
