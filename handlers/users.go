package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// Provisioner is provisioning as the admin API needs it; proof.Provisioner implements it.
type Provisioner interface {
	Provision(ctx context.Context, req proof.ProvisionRequest) (proof.ProvisionResult, error)
	Resend(ctx context.Context, userID string, req proof.ProvisionRequest) (proof.ProvisionResult, error)
}

// Answers is where answers are kept under their Idempotency-Key.
type Answers interface {
	RememberedAnswer(ctx context.Context, key string) (store.Answer, error)
	RememberAnswer(ctx context.Context, key string, a store.Answer) error
}

// userRequest is the body of POST /v1/users; DESIGN's field names.
type userRequest struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	Connection string `json:"connection"`
	Delivery   string `json:"delivery"`
	ResultURL  string `json:"result_url"`
	TicketTTL  string `json:"ticket_ttl"` // a Go duration, "24h"
	Adopt      bool   `json:"adopt"`
}

// userAnswer is the body of a successful POST /v1/users: the record, what was done,
// and the ticket URL for the ticket delivery.
type userAnswer struct {
	Status    string       `json:"status"`
	Record    store.Record `json:"record"`
	TicketURL string       `json:"ticket_url,omitempty"`
}

// provisionTimeout bounds one provisioning request: a few Management and Authentication
// API calls, each of which may wait for the shared budget behind the worker's flips.
const provisionTimeout = 30 * time.Second

// ProvisionUser answers POST /v1/users: it creates the user (or finds the one an
// earlier, interrupted request created), registers it and delivers the reset email or
// ticket (proof.Provisioner says in which order, and why a repeat is safe). 201 with the
// record when something was done, 200 when everything already was; 409 user_exists when
// a user mailproof did not create holds the address (with "adopt": true it is
// registered instead, if it can be). An Idempotency-Key header makes a retried request
// get the first answer back, ticket URL included; the same key with another body is a
// 422.
func ProvisionUser(p Provisioner, answers Answers, log *zap.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !isJSON(req.Header.Get(echo.HeaderContentType)) {
			return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json")
		}
		body, err := readBody(req.Body, -1, maxAdminBody)
		if errors.Is(err, errTooLarge) {
			return NewError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the request body is over the size limit")
		}
		if err != nil {
			return NewError(http.StatusBadRequest, CodeBadRequest, "could not read the request body").WithInternal(err)
		}
		var in userRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return NewError(http.StatusBadRequest, CodeBadRequest, `the body must be a JSON object {"email": …} with email, name, connection, delivery, result_url, ticket_ttl, adopt`).WithInternal(err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return NewError(http.StatusBadRequest, CodeBadRequest, "the body must hold exactly one JSON object")
		}
		pr := proof.ProvisionRequest{Email: in.Email, Name: in.Name, Connection: in.Connection, Delivery: in.Delivery,
			ResultURL: in.ResultURL, Adopt: in.Adopt, By: store.AuditByAdminAPI}
		if in.TicketTTL != "" {
			if pr.TicketTTL, err = time.ParseDuration(in.TicketTTL); err != nil {
				return NewError(http.StatusBadRequest, CodeBadRequest, `ticket_ttl must be a duration such as "24h"`)
			}
		}
		ctx, cancel := context.WithTimeout(req.Context(), provisionTimeout)
		defer cancel()
		key := req.Header.Get("Idempotency-Key")
		sum := sha256.Sum256(body)
		fp := hex.EncodeToString(sum[:])
		if key != "" {
			if len(key) > 255 {
				return NewError(http.StatusBadRequest, CodeBadRequest, "Idempotency-Key must be at most 255 characters")
			}
			prev, err := answers.RememberedAnswer(ctx, key)
			switch {
			case err == nil && prev.Fingerprint != fp:
				return NewError(http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
			case err == nil:
				return c.JSONBlob(prev.Status, prev.Body)
			case !errors.Is(err, store.ErrNotFound):
				return storeUnavailable(err)
			}
		}
		res, err := p.Provision(ctx, pr)
		if err != nil {
			return provisionError(err, log)
		}
		status := http.StatusCreated
		if res.Status == proof.ProvisionDone || res.Status == proof.ProvisionUncertain {
			status = http.StatusOK
		}
		out, err := json.Marshal(userAnswer{Status: res.Status, Record: res.Record, TicketURL: res.TicketURL})
		if err != nil {
			return err
		}
		if key != "" {
			if err := answers.RememberAnswer(context.WithoutCancel(ctx), key, store.Answer{Fingerprint: fp, Status: status, Body: out}); err != nil {
				log.Warn("could not keep the answer under its Idempotency-Key; a retry will provision again, which is safe", zap.Error(err))
			}
		}
		log.Info("user provisioned", zap.String("user_id", res.Record.UserID), zap.String("status", res.Status), zap.String("email", event.MaskEmail(res.Record.Email)))
		return c.JSONBlob(status, out)
	}
}

// ResendUser answers POST /v1/users/:user_id/resend: the reset email (or, with
// {"delivery":"ticket"}, a new ticket) again, for a user whose record is waiting; 409
// not_pending otherwise.
func ResendUser(p Provisioner, log *zap.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		uid, err := userIDParam(c)
		if err != nil {
			return err
		}
		var in userRequest
		if body, _ := readBody(c.Request().Body, -1, maxAdminBody); len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return NewError(http.StatusBadRequest, CodeBadRequest, `the body, when present, must be {"delivery": …}`)
			}
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), provisionTimeout)
		defer cancel()
		res, err := p.Resend(ctx, uid, proof.ProvisionRequest{Delivery: in.Delivery, ResultURL: in.ResultURL, By: store.AuditByAdminAPI})
		if err != nil {
			return provisionError(err, log)
		}
		return c.JSON(http.StatusOK, userAnswer{Status: res.Status, Record: res.Record, TicketURL: res.TicketURL})
	}
}

// provisionError turns what provisioning returned into the admin API's answer.
func provisionError(err error, log *zap.Logger) error {
	var exists *proof.UserExistsError
	var rl *auth0client.RateLimitError
	if he, ok := missingScope(err); ok {
		return he
	}
	switch {
	case errors.As(err, &exists):
		return NewError(http.StatusConflict, proof.ProvisionUserExists, "a user with this email exists and was not created by mailproof: "+exists.UserID+`; send "adopt": true to register it`).WithInternal(err)
	case errors.Is(err, proof.ErrInvalidRequest):
		return NewError(http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, proof.ErrNotPending):
		return NewError(http.StatusConflict, proof.OutcomeNotPending, "the user has no record waiting for proof")
	case errors.Is(err, proof.ErrTooSoon):
		return NewError(http.StatusTooManyRequests, CodeOverloaded, "Auth0 sends one reset email a minute to an address; retry in a minute").WithInternal(err)
	case errors.As(err, &rl):
		return NewError(http.StatusTooManyRequests, CodeOverloaded, "Auth0's rate limit is reached; retry after "+rl.Reset.UTC().Format(time.RFC3339)).WithInternal(err)
	case errors.Is(err, auth0client.ErrPermanent):
		return NewError(http.StatusBadRequest, CodeAuth0Rejected, "Auth0 refused the request; see the server log").WithInternal(err)
	}
	log.Warn("provisioning failed", zap.Error(err))
	return NewError(http.StatusServiceUnavailable, CodeUnavailable, "Auth0 or the record store is unavailable; the request can be repeated safely").WithInternal(err)
}
