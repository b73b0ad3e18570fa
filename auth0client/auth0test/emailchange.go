package auth0test

import (
	"bytes"
	"net/http"
	"strings"
	"time"
)

// Moment says where, in the Management API call an EmailChange is tied to,
// the change lands.
type Moment int

const (
	// BeforeCall lands the change before the call is handled: the call sees
	// (and its answer shows) the new address.
	BeforeCall Moment = iota
	// AfterCall lands the change after the call has changed the user and
	// before its answer leaves the tenant: the answer shows what the call
	// itself wrote, and the user holds the new address by the time the
	// client reads it.
	AfterCall
)

// EmailChange is the person behind an account changing their own address,
// through an application that calls PATCH /api/v2/users/{id} {"email": …}
// on their behalf. Auth0 applies that as an unverified address unless the
// application says otherwise (Verified), and so does the tenant.
//
// The change is tied to the Nth Management API call on the user's own path
// (/api/v2/users/{id}) with Method ("" counts every method), counted from
// the moment it is scheduled, so a test can hit each point of a client's
// read-then-write: before its read, between its read and its write, during
// its write.
type EmailChange struct {
	UserID string
	Email  string
	// Verified sets email_verified true with the new address, as an
	// application that checked the address itself would.
	Verified bool
	Method   string
	Nth      int // 1 is the next matching call; 0 is the same as 1
	Moment   Moment
}

type pendingChange struct {
	EmailChange
	seen int
}

// ScheduleEmailChange arms c; it fires once and is then forgotten.
func (t *Tenant) ScheduleEmailChange(c EmailChange) {
	if c.Nth <= 0 {
		c.Nth = 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.changes = append(t.changes, &pendingChange{EmailChange: c})
}

// ChangeEmailAfter changes a user's address d from now, wherever the
// client's calls happen to be by then; for sweeping a window by delay
// rather than by call.
func (t *Tenant) ChangeEmailAfter(userID, email string, d time.Duration) {
	time.AfterFunc(d, func() { t.ChangeEmail(userID, email, false) })
}

// ChangeEmail changes a user's address now, as a PATCH with "email" (and
// "email_verified" when verified) would; it reports whether the user
// exists.
func (t *Tenant) ChangeEmail(userID, email string, verified bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changeEmailLocked(userID, email, verified)
}

func (t *Tenant) changeEmailLocked(userID, email string, verified bool) bool {
	rec, ok := t.users[userID]
	if !ok {
		return false
	}
	email = strings.ToLower(email)
	if email != rec.Email {
		rec.EmailVerified = false
	}
	if verified {
		rec.EmailVerified = true
	}
	rec.Email = email
	rec.UpdatedAt = utc(t.now())
	t.indexLocked(userID)
	return true
}

// takeChanges counts one call on a user's path against every armed change
// of that user and returns the ones that fire on it.
func (t *Tenant) takeChanges(method, path string) (before, after []EmailChange) {
	id, ok := strings.CutPrefix(path, apiPrefix+"users/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.changes[:0]
	for _, c := range t.changes {
		if c.UserID != id || (c.Method != "" && c.Method != method) {
			kept = append(kept, c)
			continue
		}
		if c.seen++; c.seen < c.Nth {
			kept = append(kept, c)
			continue
		}
		if c.Moment == AfterCall {
			after = append(after, c.EmailChange)
		} else {
			before = append(before, c.EmailChange)
		}
	}
	clear(t.changes[len(kept):])
	t.changes = kept
	return before, after
}

// serveWithChanges handles a Management API call, landing the email
// changes tied to it before it, or after it and before its answer leaves.
func (t *Tenant) serveWithChanges(w http.ResponseWriter, r *http.Request) {
	before, after := t.takeChanges(r.Method, r.URL.Path)
	for _, c := range before {
		t.ChangeEmail(c.UserID, c.Email, c.Verified)
	}
	if len(after) == 0 {
		t.mux.ServeHTTP(w, r)
		return
	}
	held := &heldResponse{header: http.Header{}}
	t.mux.ServeHTTP(held, r)
	for _, c := range after {
		t.ChangeEmail(c.UserID, c.Email, c.Verified)
	}
	held.sendTo(w)
}

// heldResponse keeps an answer back until the change tied to its call has
// landed.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(b)
}

func (h *heldResponse) sendTo(w http.ResponseWriter) {
	for k, v := range h.header {
		w.Header()[k] = v
	}
	if h.status == 0 {
		h.status = http.StatusOK
	}
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body.Bytes())
}
