package webhook

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// NewRequest builds the POST a Standard Webhooks sender makes to url: body as JSON,
// signed with secret (see Sign) under id at timestamp, and the webhook-id,
// webhook-timestamp and webhook-signature headers set to match. doctor's self-test and
// the load generators send events this way, so they agree on the wire with the Action.
func NewRequest(ctx context.Context, url, secret, id string, timestamp time.Time, body []byte) (*http.Request, error) {
	sig, err := Sign(secret, id, timestamp, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", id)
	req.Header.Set("Webhook-Timestamp", strconv.FormatInt(timestamp.Unix(), 10))
	req.Header.Set("Webhook-Signature", sig)
	return req, nil
}
