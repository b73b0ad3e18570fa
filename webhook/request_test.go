package webhook

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestNewRequestVerifies: what NewRequest sends is what the receiver's Verifier accepts,
// read from the request's own headers and body.
func TestNewRequestVerifies(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	body := []byte(`{"type":"auth0.post_login"}`)
	req, err := NewRequest(context.Background(), "http://127.0.0.1:1/v1/events/post-login", secret, "msg_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("method %s, content type %q; want POST and application/json", req.Method, req.Header.Get("Content-Type"))
	}
	got, _ := io.ReadAll(req.Body)
	v, err := NewVerifier([]string{secret}, 5*time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(req.Header.Get("Webhook-Id"), req.Header.Get("Webhook-Timestamp"), req.Header.Get("Webhook-Signature"), got); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := NewRequest(context.Background(), "http://x", "not-a-secret", "msg_1", now, body); err == nil {
		t.Error("a bad secret: no error")
	}
}
