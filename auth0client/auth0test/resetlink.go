package auth0test

import (
	"errors"
	"net/url"
	"time"
)

// Errors FollowResetLink returns; the reset page shows the same cases.
var (
	// ErrLinkInvalid: not a password-change link this tenant made, or its
	// user is gone.
	ErrLinkInvalid = errors.New("auth0test: not a valid password-change link")
	// ErrLinkUsed: the link already set a password; links work once.
	ErrLinkUsed = errors.New("auth0test: password-change link already used")
	// ErrLinkExpired: the link's lifetime has passed.
	ErrLinkExpired = errors.New("auth0test: password-change link expired")
)

// FollowResetLink does what a person does with a reset email or a
// password-change ticket: opens the link and sets newPassword, now by the
// tenant clock. Like Auth0 it sets the password and last_password_reset,
// sets email_verified only when the link is a ticket created with
// mark_email_as_verified (a reset email never does), and uses the link up.
// A password the connection's options refuse returns ErrWeakPassword,
// ErrCommonPassword, ErrPersonalPassword or ErrReusedPassword and leaves
// the link usable.
func (t *Tenant) FollowResetLink(link, newPassword string) (User, error) {
	return t.redeem(link, t.now(), &newPassword)
}

// ticketCode extracts the ticket code from a password-change link.
func ticketCode(link string) (string, bool) {
	u, err := url.Parse(link)
	if err != nil || u.Path != resetPath {
		return "", false
	}
	code := u.Query().Get("ticket")
	return code, code != ""
}

// checkTicketLocked finds a usable ticket; the caller holds t.mu.
func (t *Tenant) checkTicketLocked(code string, at time.Time) (*ticket, *record, error) {
	tk, ok := t.tickets[code]
	switch {
	case !ok:
		return nil, nil, ErrLinkInvalid
	case tk.used:
		return nil, nil, ErrLinkUsed
	case !at.Before(tk.expires):
		return nil, nil, ErrLinkExpired
	}
	rec, ok := t.users[tk.userID]
	if !ok {
		return nil, nil, ErrLinkInvalid
	}
	return tk, rec, nil
}

// redeem uses up the link at the given time, setting password when it is
// not nil, and returns the user as changed.
func (t *Tenant) redeem(link string, at time.Time, password *string) (User, error) {
	code, ok := ticketCode(link)
	if !ok {
		return User{}, ErrLinkInvalid
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tk, rec, err := t.checkTicketLocked(code, at)
	if err != nil {
		return User{}, err
	}
	if password != nil {
		if rule := t.options(rec.Connection).checkPassword(*password, personal(rec.User), rec.history); rule != nil {
			return User{}, rule.err
		}
	}
	tk.used = true
	if password != nil {
		rec.setPassword(*password)
	}
	rec.LastPasswordReset = utc(at)
	rec.UpdatedAt = utc(at)
	if tk.markVerified {
		rec.EmailVerified = true
	}
	t.indexLocked(rec.ID)
	return rec.view(), nil
}
