package handlers

import (
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

// Error codes of the JSON error body ({"error":{"code":…}}). Clients, dashboards and
// alerts match on them, so they never change; where an outcome code of the policy
// applies (proof's, webhook's), the answer uses that instead.
const (
	CodeBadRequest           = "bad_request"
	CodeUnauthorized         = "unauthorized"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeOverloaded           = "overloaded"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
	CodeError                = "error"
	CodeInvalidEvent         = "invalid_event"
	CodeAuth0Unavailable     = "auth0_unavailable"
	CodeAuth0Rejected        = "auth0_rejected"
)

// eventOutcomes is every outcome an answered post-login event is counted under in
// mailproof_events_total: what the store did with it, or why it was refused.
var eventOutcomes = [...]string{
	store.IngestQueued, store.IngestDuplicate, store.IngestNotPending,
	webhook.OutcomeInvalidSignature, webhook.OutcomeStaleTimestamp, CodeInvalidEvent,
	CodeBodyTooLarge, CodeUnsupportedMediaType, CodeBadRequest, CodeUnavailable,
}
