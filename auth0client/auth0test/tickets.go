package auth0test

import (
	"net/http"
	"net/url"
	"time"
)

// defaultTicketTTL is Auth0's lifetime for a password-change ticket created
// without ttl_sec (5 days).
const defaultTicketTTL = 5 * 24 * time.Hour

type ticket struct {
	userID       string
	expires      time.Time
	markVerified bool
}

// passwordTicketBody lists the ticket properties the emulator models. The
// email + connection_id form is not modelled (mailproof always names the
// user), so those properties are rejected like unknown ones.
type passwordTicketBody struct {
	UserID                 *string `json:"user_id"`
	ResultURL              *string `json:"result_url"`
	ClientID               *string `json:"client_id"`
	TTLSec                 *int    `json:"ttl_sec"`
	MarkEmailAsVerified    *bool   `json:"mark_email_as_verified"`
	IncludeEmailInRedirect *bool   `json:"includeEmailInRedirect"`
	OrganizationID         *string `json:"organization_id"`
}

func (t *Tenant) handlePasswordTicket(w http.ResponseWriter, r *http.Request) {
	var b passwordTicketBody
	if !decodeStrict(w, r, &b, 0) {
		return
	}
	switch {
	case b.UserID == nil || *b.UserID == "":
		writeBadRequest(w, "Payload validation error: 'Missing required property: user_id'.")
		return
	case b.ResultURL != nil && b.ClientID != nil:
		writeBadRequest(w, "The client_id and result_url parameters cannot be used together.")
		return
	case b.TTLSec != nil && *b.TTLSec < 0:
		writeBadRequest(w, "Payload validation error: 'Number is less than minimum value (0)' on property ttl_sec.")
		return
	}
	ttl := defaultTicketTTL
	if b.TTLSec != nil && *b.TTLSec > 0 {
		ttl = time.Duration(*b.TTLSec) * time.Second
	}
	code := randomAlnum(32)

	t.mu.Lock()
	_, ok := t.users[*b.UserID]
	if ok {
		t.tickets[code] = &ticket{
			userID:       *b.UserID,
			expires:      t.now().Add(ttl),
			markVerified: b.MarkEmailAsVerified != nil && *b.MarkEmailAsVerified,
		}
	}
	t.mu.Unlock()
	if !ok {
		writeUserNotFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{
		"ticket": t.URL() + "/u/reset-password?ticket=" + code + "#",
	})
}

// CompleteTicket simulates the person opening a password-change ticket URL
// and choosing a new password at the given time: last_password_reset is set
// and, if the ticket asked for it, email_verified becomes true. A ticket
// works once and not after it expires; it reports false otherwise.
func (t *Tenant) CompleteTicket(ticketURL string, at time.Time) (User, bool) {
	u, err := url.Parse(ticketURL)
	if err != nil {
		return User{}, false
	}
	code := u.Query().Get("ticket")

	t.mu.Lock()
	defer t.mu.Unlock()
	tk, ok := t.tickets[code]
	if !ok || !at.Before(tk.expires) {
		return User{}, false
	}
	delete(t.tickets, code)
	rec, ok := t.users[tk.userID]
	if !ok {
		return User{}, false
	}
	rec.LastPasswordReset = utc(at)
	rec.UpdatedAt = utc(at)
	if tk.markVerified {
		rec.EmailVerified = true
	}
	return rec.view(), true
}
