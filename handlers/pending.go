package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// PendingStore is the part of the store the admin API's pending routes need.
type PendingStore interface {
	PutPending(ctx context.Context, rec store.Record) error
	Get(ctx context.Context, userID string) (store.Record, error)
	DeletePending(ctx context.Context, userID string) (bool, error)
	ListPending(ctx context.Context, cursor string, limit int) ([]store.Record, string, error)
	Note(ctx context.Context, userID, outcome, by, detail string) error
}

// UserReader reads one Auth0 user through the Management API.
type UserReader interface {
	GetUser(ctx context.Context, id string) (auth0client.User, error)
}

// RegisterUsers is the Management API as RegisterPending needs it: the read that checks
// the user, and the marker (app_metadata.mailproof) by which the reconcile sweep's user
// search and exports find a registered user, as they find the ones mailproof created.
type RegisterUsers interface {
	UserReader
	MarkProvisioned(ctx context.Context, id string) error
}

// RegisterConfig tunes RegisterPending.
type RegisterConfig struct {
	// BudgetWait bounds how long a registration waits for a slot in the shared Management
	// API budget before answering 429; default DefaultBudgetWait. The caller is a script
	// that can retry, and a request parked for minutes would only hold a connection.
	BudgetWait time.Duration
}

// Budget is the Management API rate budget every replica shares: a registration's read
// spends a slot like a worker's call, and a 429 pauses everyone.
type Budget interface {
	Wait(ctx context.Context) error
	Pause(ctx context.Context, until time.Time) error
}

// DefaultBudgetWait is RegisterConfig.BudgetWait when zero.
const DefaultBudgetWait = 3 * time.Second

// Limits of the admin API's pending routes.
const (
	maxAdminBody     = 8 << 10 // maxAdminBody is far above {"user_id": …}; the listener's limit still applies.
	defaultPageLimit = 50      // defaultPageLimit is the page size when limit is absent.
	maxPageLimit     = 500     // maxPageLimit caps a page; more is refused rather than silently cut.
)

// registerRequest is the body of POST /v1/pending; any other field is refused.
type registerRequest struct {
	UserID string `json:"user_id"`
}

// RegisterPending answers POST /v1/pending {"user_id": "auth0|…"}: it registers a user
// that already exists in Auth0 as pending, so the user's next qualifying login flips
// email_verified. A Management API read must first show the user exists (else 404
// user_not_found), is unverified (else 409 already_verified), has an email (else 409
// no_email) and sits on a database connection (else 409 wrong_connection: the request is
// well formed, the user's state in Auth0 is what forbids it). The read spends one slot of
// the Management API budget shared with the workers.
//
// A user without mailproof's app_metadata marker then gets it, for one more slot of the
// same budget, before any record is written: the reconcile sweep finds users only by the
// marker, so a record must never exist for a user it cannot find. When the marker cannot
// be set nothing is written and the answer is the one a failed read gets (404, 429, 503;
// 502 auth0_rejected if Auth0 refuses the write), so the caller retries; the retry's read
// sees a marker that did land and skips the call.
//
// The record's provisioned_at is the registration time, not the user's created_at. The
// policy only accepts a login after a password reset later than provisioned_at, so a
// reset that happened before the registration does not count: a user who already set a
// password before being registered must go through a reset (email or ticket) again.
// That is deliberate: mailproof can only vouch for resets it knows were asked for after
// it started watching. It also means the caller vouches that nobody but the mailbox
// owner can set this user's password from now on: Auth0 sets last_password_reset on a
// Management API password change or a ticket too, neither of which proves the mailbox.
//
// Registering a user whose record is still waiting (pending or verifying) changes
// nothing and answers 200 with the existing record, so a script can safely retry; the
// original provisioned_at is kept. A record that has ended (verified, closed, expired) is
// replaced by a fresh pending one, answered with 201.
func RegisterPending(cfg RegisterConfig, users RegisterUsers, budget Budget, s PendingStore, log *zap.Logger) echo.HandlerFunc {
	if cfg.BudgetWait <= 0 {
		cfg.BudgetWait = DefaultBudgetWait
	}
	return func(c echo.Context) error {
		req := c.Request()
		if !isJSON(req.Header.Get(echo.HeaderContentType)) {
			return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json")
		}
		uid, err := decodeRegister(req.Body)
		if err != nil {
			return err
		}
		ctx := req.Context()
		u, err := readUser(ctx, cfg.BudgetWait, users, budget, uid, c.Response().Header(), log)
		if err != nil {
			return err
		}
		if rule := proof.EvaluateRegistration(u); rule != nil {
			return NewError(http.StatusConflict, rule.Outcome, rule.Explain)
		}

		if u.ID != "" {
			uid = u.ID // Auth0's spelling of the id is the one its events will carry
		}
		// Before the store is even read, so a retry also marks a user whose record was
		// written before registration set the marker.
		if !u.Provisioned {
			if err := markUser(ctx, cfg.BudgetWait, users, budget, uid, c.Response().Header(), log); err != nil {
				return err
			}
			log.Info("user marked for the reconcile sweep", zap.String("user_id", uid))
		}
		existing, err := s.Get(ctx, uid)
		switch {
		case err == nil && (existing.Status == store.StatusPending || existing.Status == store.StatusVerifying):
			return c.JSON(http.StatusOK, existing)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return storeUnavailable(err)
		}
		// Only PutPending makes an ended record pending again, so replacing one cannot race
		// with a worker; two registrations racing for the same user write the same record.
		if err := s.PutPending(ctx, store.Record{UserID: uid, Email: u.Email, Connection: u.Connection}); err != nil {
			return storeUnavailable(err)
		}
		rec, err := s.Get(ctx, uid)
		if err != nil {
			return storeUnavailable(err)
		}
		if err := s.Note(ctx, uid, store.AuditRegistered, store.AuditByAdminAPI, "connection "+u.Connection); err != nil {
			log.Warn("could not write the registration to the audit trail", zap.String("user_id", uid), zap.Error(err))
		}
		log.Info("user registered as pending", zap.String("user_id", uid), zap.String("connection", u.Connection))
		return c.JSON(http.StatusCreated, rec)
	}
}

// decodeRegister strictly decodes the registration body: one JSON object, user_id only.
func decodeRegister(r io.Reader) (string, error) {
	body, err := readBody(r, -1, maxAdminBody)
	if errors.Is(err, errTooLarge) {
		return "", NewError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is over the size limit")
	}
	if err != nil {
		return "", NewError(http.StatusBadRequest, CodeBadRequest, "could not read the request body").WithInternal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in registerRequest
	if err := dec.Decode(&in); err != nil {
		return "", NewError(http.StatusBadRequest, CodeBadRequest, `the body must be a JSON object {"user_id": "…"} with no other field`).WithInternal(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", NewError(http.StatusBadRequest, CodeBadRequest, "the body must hold exactly one JSON object")
	}
	if err := checkUserID(in.UserID); err != nil {
		return "", err
	}
	return in.UserID, nil
}

// checkUserID refuses ids that cannot be Auth0 user ids before they reach Auth0 or a log,
// with event's rule, so no id is registered that every event for it would be refused.
func checkUserID(id string) error {
	if id == "" {
		return NewError(http.StatusBadRequest, CodeBadRequest, "user_id is required")
	}
	if err := event.CheckUserID(id); err != nil {
		return NewError(http.StatusBadRequest, CodeBadRequest, "user_id "+err.Error())
	}
	return nil
}

// readUser spends one budget slot and reads the user, turning every failure into the
// answer the admin API gives for it.
func readUser(ctx context.Context, wait time.Duration, users UserReader, budget Budget, uid string, h http.Header, log *zap.Logger) (auth0client.User, error) {
	if err := spend(ctx, wait, budget, h); err != nil {
		return auth0client.User{}, err
	}
	u, err := users.GetUser(ctx, uid)
	switch {
	case err == nil:
		return u, nil
	case errors.Is(err, auth0client.ErrPermanent):
		return u, NewError(http.StatusBadRequest, CodeBadRequest, "Auth0 rejected this user id").WithInternal(err)
	}
	return u, auth0Failure(ctx, err, budget, h, log)
}

// markUser spends one budget slot and sets mailproof's app_metadata marker on the user,
// answering a failure as readUser does, except that Auth0 refusing the write after it
// accepted the read is Auth0's doing, not the caller's: 502 auth0_rejected.
func markUser(ctx context.Context, wait time.Duration, users RegisterUsers, budget Budget, uid string, h http.Header, log *zap.Logger) error {
	if err := spend(ctx, wait, budget, h); err != nil {
		return err
	}
	err := users.MarkProvisioned(ctx, uid)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth0client.ErrPermanent):
		return NewError(http.StatusBadGateway, CodeAuth0Rejected, "Auth0 refused to set app_metadata.mailproof on the user; nothing was registered, see the server log").WithInternal(err)
	}
	return auth0Failure(ctx, err, budget, h, log)
}

// spend waits at most wait for one slot of the shared Management API budget: a caller
// that cannot have one soon gets 429 rather than a request parked on the budget.
func spend(ctx context.Context, wait time.Duration, budget Budget, h http.Header) error {
	wctx, cancel := context.WithTimeout(ctx, wait)
	err := budget.Wait(wctx)
	cancel()
	switch {
	case err == nil:
		return nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		h.Set("Retry-After", "1")
		return NewError(http.StatusTooManyRequests, CodeOverloaded, "the Management API budget is spent; retry later").WithInternal(err)
	}
	return storeUnavailable(err)
}

// missingScope is the answer when Auth0 refused a call for want of a Management API scope:
// 503, as the request is sound and can be repeated once an operator grants the scope,
// which the message names (scope names are Auth0's public vocabulary, not internals).
func missingScope(err error) (*echo.HTTPError, bool) {
	var se *auth0client.ScopeError
	if !errors.As(err, &se) {
		return nil, false
	}
	return NewError(http.StatusServiceUnavailable, CodeAuth0Unavailable,
		"mailproof's Auth0 application lacks the Management API scope "+strings.Join(se.Missing, ", ")+
			"; an operator must grant it (see /readyz and the server log), then the request can be repeated").WithInternal(err), true
}

// auth0Failure is the answer to a failed Management API call on a user. A 429 from Auth0
// also pauses the shared budget, so the workers back off too.
func auth0Failure(ctx context.Context, err error, budget Budget, h http.Header, log *zap.Logger) error {
	var rl *auth0client.RateLimitError
	if he, ok := missingScope(err); ok {
		return he
	}
	switch {
	case errors.Is(err, auth0client.ErrUserNotFound):
		return NewError(http.StatusNotFound, proof.OutcomeUserNotFound, "no such user in Auth0").WithInternal(err)
	case errors.As(err, &rl):
		if perr := budget.Pause(ctx, rl.Reset); perr != nil {
			log.Warn("could not share the rate-limit pause with other replicas", zap.Error(perr))
		}
		h.Set("Retry-After", strconv.Itoa(retryAfter(rl.Reset)))
		return NewError(http.StatusTooManyRequests, CodeOverloaded, "the Auth0 Management API is rate limited; retry later").WithInternal(err)
	}
	// ErrTransient, ErrUnauthorized, a cancelled request
	return NewError(http.StatusServiceUnavailable, CodeAuth0Unavailable, "the Auth0 Management API is unavailable; retry later").WithInternal(err)
}

// GetPending answers GET /v1/pending/:user_id with the user's record in any status
// (pending, verifying, verified, closed, expired), or 404 not_found.
func GetPending(s PendingStore) echo.HandlerFunc {
	return func(c echo.Context) error {
		uid, err := userIDParam(c)
		if err != nil {
			return err
		}
		rec, err := s.Get(c.Request().Context(), uid)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return NewError(http.StatusNotFound, CodeNotFound, "no record for this user")
		case err != nil:
			return storeUnavailable(err)
		}
		return c.JSON(http.StatusOK, rec)
	}
}

// DeletePending answers DELETE /v1/pending/:user_id: 204 once the record is gone, 404
// not_found when there was none. It touches only mailproof's record, never the Auth0 user;
// a job already queued for the user then ends as not_pending.
func DeletePending(s PendingStore, log *zap.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		uid, err := userIDParam(c)
		if err != nil {
			return err
		}
		found, err := s.DeletePending(c.Request().Context(), uid)
		switch {
		case err != nil:
			return storeUnavailable(err)
		case !found:
			return NewError(http.StatusNotFound, CodeNotFound, "no record for this user")
		}
		if err := s.Note(c.Request().Context(), uid, store.AuditDeleted, store.AuditByAdminAPI, ""); err != nil {
			log.Warn("could not write the deletion to the audit trail", zap.String("user_id", uid), zap.Error(err))
		}
		log.Info("pending record removed", zap.String("user_id", uid))
		return c.NoContent(http.StatusNoContent)
	}
}

// PendingPage is one page of GET /v1/pending. NextCursor is "" on the last page; a full
// page may be followed by an empty one.
type PendingPage struct {
	Records    []store.Record `json:"records"`
	NextCursor string         `json:"next_cursor"`
}

// ListPending answers GET /v1/pending?cursor=…&limit=… with the records still waiting
// for proof (pending or verifying), newest provisioned_at first. limit defaults to 50 and
// must be 1 to 500; a cursor must be one a previous page returned. Either being wrong is a
// 400, because a silently different page would mislead a script walking the list.
func ListPending(s PendingStore) echo.HandlerFunc {
	return func(c echo.Context) error {
		limit := defaultPageLimit
		if v := c.QueryParam("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPageLimit {
				return NewError(http.StatusBadRequest, CodeBadRequest, "limit must be an integer from 1 to "+strconv.Itoa(maxPageLimit))
			}
			limit = n
		}
		recs, next, err := s.ListPending(c.Request().Context(), c.QueryParam("cursor"), limit)
		switch {
		case errors.Is(err, store.ErrBadCursor):
			return NewError(http.StatusBadRequest, CodeBadRequest, "cursor is not one a previous page returned")
		case err != nil:
			return storeUnavailable(err)
		}
		if recs == nil {
			recs = []store.Record{} // "records": [] rather than null
		}
		return c.JSON(http.StatusOK, PendingPage{Records: recs, NextCursor: next})
	}
}
