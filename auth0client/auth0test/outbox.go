package auth0test

import (
	"strings"
	"time"
)

// resetEmailTTL is how long the link in a reset email works: the lifetime
// of Auth0's change-password email template URL defaults to 5 days, the
// same as a ticket's.
const resetEmailTTL = defaultTicketTTL

// Email is one message the tenant sent. The tenant sends nothing by mail:
// tests and `mailproof local` read the outbox instead.
type Email struct {
	// Template is Auth0's email template name: "reset_email" for the
	// change-password email of /dbconnections/change_password.
	Template string
	// To is the recipient: the user's stored (lower-cased) address.
	To         string
	UserID     string
	Connection string
	// ClientID is the application the request named; empty when it named
	// none.
	ClientID string
	// At is when it was sent, by the tenant clock.
	At time.Time
	// Link is the password-change link in the message,
	// https://HOST/u/reset-password?ticket=…#; FollowResetLink or the
	// page at that address uses it.
	Link string
}

// sendResetEmail puts a change-password email for the user of connection
// with address email in the outbox. Like Auth0 it sends nothing, and says
// nothing, when there is no such user.
func (t *Tenant) sendResetEmail(email, connection, clientID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rec := range t.users {
		if rec.Connection != connection || rec.Email != email {
			continue
		}
		t.outbox = append(t.outbox, Email{
			Template:   "reset_email",
			To:         rec.Email,
			UserID:     rec.ID,
			Connection: connection,
			ClientID:   clientID,
			At:         utc(t.now()),
			Link:       t.newTicketLocked(rec.ID, resetEmailTTL, false),
		})
		return // one user per address in a connection
	}
}

// Outbox returns every email sent so far, oldest first.
func (t *Tenant) Outbox() []Email {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Email(nil), t.outbox...)
}

// LastEmailTo returns the latest email sent to address (compared without
// regard to case).
func (t *Tenant) LastEmailTo(address string) (Email, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.outbox) - 1; i >= 0; i-- {
		if strings.EqualFold(t.outbox[i].To, address) {
			return t.outbox[i], true
		}
	}
	return Email{}, false
}

// SentTo counts the emails sent to address (compared without regard to
// case).
func (t *Tenant) SentTo(address string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.outbox {
		if strings.EqualFold(e.To, address) {
			n++
		}
	}
	return n
}

// ResetOutbox forgets the emails sent so far; their links keep working.
func (t *Tenant) ResetOutbox() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outbox = nil
}
