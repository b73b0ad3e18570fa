package auth0client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/mailproof/mailproof/event"
)

// PasswordChangeTicket creates a password-change link for the user, to be
// delivered by the caller. resultURL, when set, is where Auth0 sends the
// person afterwards; ttl zero means Auth0's default lifetime and is rounded
// up to whole seconds otherwise.
//
// The ticket does not mark the email verified: whoever uses it has not
// proven anything about the mailbox unless it was mailed, which mailproof
// cannot know. The login that follows the reset is what mailproof judges.
func (c *Client) PasswordChangeTicket(ctx context.Context, userID, resultURL string, ttl time.Duration) (string, error) {
	if ttl < 0 {
		return "", fmt.Errorf("password ticket for %s: %w: ttl %v is negative", userID, ErrPermanent, ttl)
	}
	t := &management.Ticket{
		UserID:                 auth0.String(userID),
		MarkEmailAsVerified:    auth0.Bool(false),
		IncludeEmailInRedirect: auth0.Bool(false),
	}
	if resultURL != "" {
		t.ResultURL = auth0.String(resultURL)
	}
	if ttl > 0 {
		t.TTLSec = auth0.Int(int((ttl + time.Second - 1) / time.Second))
	}
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	if err := m.Ticket.ChangePassword(ctx, t); err != nil {
		return "", fmt.Errorf("password ticket for %s: %w", userID, c.classify(m, err, ex, ErrUserNotFound))
	}
	if t.GetTicket() == "" {
		return "", fmt.Errorf("password ticket for %s: %w: answer without a ticket", userID, ErrTransient)
	}
	return t.GetTicket(), nil
}

// SendResetEmail asks Auth0 to email the standard reset-password link
// (Authentication API /dbconnections/change_password). Auth0 answers the
// same whether or not the address has an account.
func (c *Client) SendResetEmail(ctx context.Context, email, connection string) error {
	who := event.MaskEmail(email)
	body, err := json.Marshal(map[string]string{"client_id": c.clientID, "email": email, "connection": connection})
	if err != nil {
		return fmt.Errorf("reset email to %s: %w: %w", who, ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"https://"+c.domain+"/dbconnections/change_password", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("reset email to %s: %w: %w", who, ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reset email to %s: %w: %w", who, ErrNoAnswer, err)
	}
	defer resp.Body.Close()
	// An unreadable body only loses the error message: the status decides.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("reset email to %s: %w", who, rateLimited(resp.Header))
	}
	// This endpoint never says whether a user exists: a 404 is a wrong
	// address, hence permanent. A gateway's 502 or 504 may come after Auth0 sent the
	// email: nobody can tell, as with no answer at all.
	kind := byStatus(resp.StatusCode, ErrPermanent)
	if resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
		kind = ErrNoAnswer
	}
	return fmt.Errorf("reset email to %s: %w: %d %s", who, kind, resp.StatusCode, authMessage(answer))
}

// authMessage pulls the human part out of an Authentication API error body,
// which comes in several shapes; emails in it are masked.
func authMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		for _, k := range []string{"error_description", "description", "message", "error"} {
			if s, ok := m[k].(string); ok && s != "" {
				return maskEmails(s)
			}
		}
		return ""
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 || strings.ContainsAny(s, "<>") {
		return "" // an HTML error page says nothing useful
	}
	return maskEmails(s)
}
