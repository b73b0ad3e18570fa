package auth0test

import (
	"net/http"
	"time"
)

// defaultTicketTTL is Auth0's lifetime for a password-change ticket created
// without ttl_sec (5 days).
const defaultTicketTTL = 5 * 24 * time.Hour

// ticket is one password-change link: made by the Management API's
// tickets endpoint or carried by a reset email. Both are the same kind of
// link at Auth0 (/u/reset-password?ticket=…), so the tenant keeps them
// alike; a used ticket is kept, marked, so its link can say so.
type ticket struct {
	userID       string
	expires      time.Time
	markVerified bool
	used         bool
}

// resetPath is where a password-change link points on the tenant; the
// recorded Auth0 answer is https://TENANT/u/reset-password?ticket=<32
// letters and digits>#.
const resetPath = "/u/reset-password"

// newTicketLocked stores a ticket for userID and returns its link; the
// caller holds t.mu.
func (t *Tenant) newTicketLocked(userID string, ttl time.Duration, markVerified bool) string {
	code := randomAlnum(32)
	t.tickets[code] = &ticket{userID: userID, expires: t.now().Add(ttl), markVerified: markVerified}
	return t.URL() + resetPath + "?ticket=" + code + "#"
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
	markVerified := b.MarkEmailAsVerified != nil && *b.MarkEmailAsVerified

	t.mu.Lock()
	link := ""
	if _, ok := t.users[*b.UserID]; ok {
		link = t.newTicketLocked(*b.UserID, ttl, markVerified)
	}
	t.mu.Unlock()
	if link == "" {
		writeUserNotFound(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"ticket": link})
}

// CompleteTicket simulates the person opening a password-change ticket URL
// and choosing a new password at the given time: last_password_reset is set
// and, if the ticket asked for it, email_verified becomes true. A ticket
// works once and not after it expires; it reports false otherwise. The
// stored password is left alone: FollowResetLink sets one.
func (t *Tenant) CompleteTicket(ticketURL string, at time.Time) (User, bool) {
	u, err := t.redeem(ticketURL, at, nil)
	return u, err == nil
}
