package auth0client

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"

	"github.com/mailproof/mailproof/event"
)

// Errors returned by Client methods, matched with errors.Is. Every error a
// call returns matches exactly one of ErrUserNotFound, ErrRateLimited,
// ErrPermanent and ErrTransient; ErrUnauthorized errors also match
// ErrTransient, and ErrMissingScope errors ErrUnauthorized.
var (
	// ErrUserNotFound: Auth0 answered 404 for the user.
	ErrUserNotFound = errors.New("auth0: user not found")
	// ErrRateLimited: Auth0 answered 429; errors.As to *RateLimitError for
	// when to try again.
	ErrRateLimited = errors.New("auth0: rate limited")
	// ErrTransient: 5xx, timeouts, connection failures, dropped
	// connections: the same call may succeed later.
	ErrTransient = errors.New("auth0: temporary failure")
	// ErrPermanent: Auth0 rejected the request itself (4xx other than 401,
	// 403, 404 and 429); repeating it will not help.
	ErrPermanent = errors.New("auth0: request rejected")
	// ErrUnauthorized: the token endpoint refused to issue a token (any
	// 4xx but 429: wrong client credentials, audience, grant), or the
	// Management API refused the token (401) or its scopes (403).
	// It also matches ErrTransient because the job is sound and the
	// configuration is not: treating it as permanent would dead-letter
	// every job during a credential rotation. Ping reports it to /readyz.
	ErrUnauthorized error = &subError{msg: "auth0: not authorized (client credentials or scopes)", parent: ErrTransient}
	// ErrMissingScope: Auth0 answered 403 insufficient_scope, or the token
	// lacks a scope CheckScopes was asked for: the application is not
	// granted a Management API scope mailproof needs (errors.As to
	// *ScopeError for which). A configuration error, not a verdict on the
	// job: it matches ErrUnauthorized (and ErrTransient) for callers that do
	// not tell it apart, and the worker waits for the grant without
	// spending the job's attempts.
	ErrMissingScope error = &subError{msg: "auth0: missing Management API scope", parent: ErrUnauthorized}
	// ErrNoAnswer: the request may or may not have reached Auth0 (a timeout, a dropped
	// connection): a write it carried may have happened. It also matches ErrTransient.
	ErrNoAnswer error = &subError{msg: "auth0: no answer", parent: ErrTransient}
	// ErrConflict: Auth0 answered 409, the user already exists. It also matches
	// ErrPermanent: the same request will never succeed.
	ErrConflict error = &subError{msg: "auth0: conflict (the user already exists)", parent: ErrPermanent}
	// ErrActionBuildFailed: Auth0 could not build an Action's code (its
	// status is "failed"); nothing was deployed. It also matches
	// ErrPermanent: deploying the same code again fails the same way.
	ErrActionBuildFailed error = &subError{msg: "auth0: action build failed", parent: ErrPermanent}
)

// subError is a sentinel that also matches a broader one, and whatever that
// one matches.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string        { return e.msg }
func (e *subError) Is(target error) bool { return errors.Is(e.parent, target) }

// RateLimitError is the ErrRateLimited error; Reset is read from the
// x-ratelimit-reset header, or one second ahead when Auth0 sent none.
// Auth0's pages disagree on the header's exact meaning: treat Reset as an
// upper bound for the wait.
type RateLimitError struct {
	Reset time.Time
}

// Error says until when the budget is spent.
func (e *RateLimitError) Error() string {
	return "auth0: rate limited until " + e.Reset.UTC().Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

func rateLimited(h http.Header) *RateLimitError {
	if s, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil && s > 0 {
		return &RateLimitError{Reset: time.Unix(s, 0)}
	}
	return &RateLimitError{Reset: time.Now().Add(time.Second).Truncate(time.Second)}
}

// byStatus maps an HTTP error status to its sentinel; notFound is what a 404
// means for the call (ErrUserNotFound for user calls).
func byStatus(status int, notFound error) error {
	switch {
	case status == http.StatusNotFound:
		return notFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrUnauthorized
	case status >= 500:
		return ErrTransient
	case status == http.StatusConflict:
		return ErrConflict
	}
	return ErrPermanent
}

// classify turns what the SDK returned into the package's errors; notFound
// is what a 404 means for the call. The texts keep Auth0's message but
// never a token, a secret, a response body or a full email address.
func (c *Client) classify(m *management.Management, err error, ex *exchange, notFound error) error {
	var me management.Error
	if errors.As(err, &me) {
		if me.Status() == http.StatusTooManyRequests {
			return rateLimited(ex.header)
		}
		if me.Status() == http.StatusUnauthorized {
			c.renew(m)
		}
		if expected, ok := insufficientScope(me.Status(), me.Error()); ok {
			// A grant made since this token was issued reaches only a new
			// one; renewals are paced (scopeRenewal), tokens being counted.
			if c.scopeRenewal.due(time.Now()) {
				c.renew(m)
			}
			return newScopeError(expected)
		}
		return fmt.Errorf("%w: %s", byStatus(me.Status(), notFound), maskEmails(me.Error()))
	}

	// The token fetch failed with an answer from /oauth/token.
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		var header http.Header
		if re.Response != nil {
			status, header = re.Response.StatusCode, re.Response.Header
		}
		if status == http.StatusTooManyRequests {
			return rateLimited(header)
		}
		msg := fmt.Sprintf("token endpoint answered %d", status)
		if re.ErrorCode != "" {
			msg += " " + re.ErrorCode
		}
		if re.ErrorDescription != "" {
			msg += ": " + maskEmails(re.ErrorDescription)
		}
		// A refused token is never a verdict on the call that needed it:
		// any 4xx there is about the credentials or the configuration.
		kind := ErrUnauthorized
		if status >= 500 || status == 0 {
			kind = ErrTransient
		}
		return fmt.Errorf("%w: %s", kind, msg)
	}

	// Everything else never got an HTTP answer: timeouts, refused or
	// dropped connections, TLS failures, cancelled contexts (kept
	// matchable with errors.Is).
	where := "token fetch"
	if ex.reached {
		where = "request"
	}
	return fmt.Errorf("%w: %s: %w", ErrTransient, where, err)
}

// emailPattern finds addresses in Auth0 messages (its validation errors
// quote the rejected email).
var emailPattern = regexp.MustCompile(`[^\s'"<>:@]+@[^\s'"<>@]+\.[^\s'"<>@)]+`)

// maskEmails masks each address in s with event.MaskEmail: a***@example.com.
func maskEmails(s string) string {
	return emailPattern.ReplaceAllStringFunc(s, func(email string) string {
		// The pattern may take a sentence's full stop into the domain.
		email, stop := strings.CutSuffix(email, ".")
		if stop {
			return event.MaskEmail(email) + "."
		}
		return event.MaskEmail(email)
	})
}
