package auth0test

import (
	"crypto/md5" // #nosec G501: Gravatar addresses are MD5 hashes by definition, not security
	"encoding/hex"
	"maps"
	"net/url"
	"strings"
	"time"
)

// User is the tenant's view of one database user.
type User struct {
	ID            string
	Email         string
	EmailVerified bool
	Name          string
	Nickname      string
	Picture       string
	GivenName     string
	FamilyName    string
	// Username is set only in a connection that requires one, lower-cased.
	Username      string
	PhoneNumber   string
	PhoneVerified bool
	// Blocked is true when an administrator blocked the user.
	Blocked bool
	// blockedSet: blocked was written once; Auth0 shows it from then on.
	blockedSet bool
	Connection string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// LastPasswordReset is zero until the password is changed by a reset,
	// a ticket or a Management API PATCH.
	LastPasswordReset time.Time
	LastLogin         time.Time
	LoginsCount       int
	AppMetadata       map[string]any
	UserMetadata      map[string]any
}

// UserSeed describes a user to add directly, bypassing the API. Zero fields
// take Auth0's defaults: a generated id, DefaultConnection, the email as
// name, its local part as nickname, and the tenant clock for CreatedAt.
type UserSeed struct {
	ID            string
	Email         string
	EmailVerified bool
	Name          string
	Username      string
	Connection    string
	// Password is stored as given, whatever the connection's password
	// options say, and starts the user's password history.
	Password          string
	CreatedAt         time.Time
	LastPasswordReset time.Time
	LastLogin         time.Time
	LoginsCount       int
	AppMetadata       map[string]any
}

// record is a stored user: the public view plus what only the tenant knows.
type record struct {
	User
	password [32]byte // hashPassword, enough for an emulator's CheckPassword
	hasPass  bool
	history  [][32]byte // the last passwords set, oldest first, current last
}

func (r *record) setPassword(p string) {
	r.password = hashPassword(p)
	r.hasPass = p != ""
	if r.hasPass {
		r.history = append(r.history, r.password)
		if len(r.history) > maxHistorySize {
			r.history = r.history[len(r.history)-maxHistorySize:]
		}
	}
}

// passwordIs reports whether p is the current password.
func (r *record) passwordIs(p string) bool {
	return r.hasPass && r.password == hashPassword(p)
}

// view returns a copy safe to hand out.
func (r *record) view() User {
	u := r.User
	u.AppMetadata = maps.Clone(u.AppMetadata)
	u.UserMetadata = maps.Clone(u.UserMetadata)
	return u
}

func newUserID() string { return "auth0|" + randomHex(12) }

func nickname(email string) string {
	local, _, _ := strings.Cut(email, "@")
	return local
}

// gravatar mirrors the default picture Auth0 assigns to database users.
func gravatar(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email)))) // #nosec G401
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) +
		"?s=480&r=pg&d=" + url.QueryEscape("https://cdn.auth0.com/avatars/"+initials(email)+".png")
}

func initials(email string) string {
	n := nickname(email)
	if len(n) >= 2 {
		return strings.ToLower(n[:2])
	}
	return "default"
}

// AddUser stores a user as if it had been created through the API and
// returns it. An existing user with the same id is replaced.
func (t *Tenant) AddUser(s UserSeed) User {
	now := utc(t.now())
	rec := &record{User: User{
		ID:                s.ID,
		Email:             strings.ToLower(s.Email),
		EmailVerified:     s.EmailVerified,
		Name:              s.Name,
		Username:          strings.ToLower(s.Username),
		Connection:        s.Connection,
		CreatedAt:         utcOrZero(s.CreatedAt),
		LastPasswordReset: utcOrZero(s.LastPasswordReset),
		LastLogin:         utcOrZero(s.LastLogin),
		LoginsCount:       s.LoginsCount,
		AppMetadata:       maps.Clone(s.AppMetadata),
	}}
	if rec.ID == "" {
		rec.ID = newUserID()
	}
	if rec.Connection == "" {
		rec.Connection = DefaultConnection
	}
	if rec.Name == "" {
		rec.Name = rec.Email
	}
	rec.Nickname = nickname(rec.Email)
	rec.Picture = gravatar(rec.Email)
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	// A seed with its own times describes a user as it was last written: created then,
	// and changed no later than its last reset.
	rec.UpdatedAt = rec.CreatedAt
	if rec.LastPasswordReset.After(rec.UpdatedAt) {
		rec.UpdatedAt = rec.LastPasswordReset
	}
	rec.setPassword(s.Password)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.users[rec.ID] = rec
	t.indexLocked(rec.ID)
	return rec.view()
}

// User returns the stored user with id.
func (t *Tenant) User(id string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.users[id]
	if !ok {
		return User{}, false
	}
	return rec.view(), true
}

// ResetPassword is a shortcut for the person completing a password reset
// at the given time: last_password_reset is set, as Auth0 does, and the
// stored password is left alone (FollowResetLink sets one). It reports
// whether the user exists.
func (t *Tenant) ResetPassword(id string, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.users[id]
	if !ok {
		return false
	}
	rec.LastPasswordReset = utc(at)
	rec.UpdatedAt = utc(at)
	t.indexLocked(id)
	return true
}

// CheckPassword reports whether password is the user's current password,
// so a test can tell that a create or PATCH carried it without the call
// record keeping it.
func (t *Tenant) CheckPassword(id, password string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.users[id]
	return ok && rec.passwordIs(password)
}

// emailTaken reports whether another user of the connection has email; the
// caller holds t.mu.
func (t *Tenant) emailTaken(connection, email, exceptID string) bool {
	for _, rec := range t.users {
		if rec.ID != exceptID && rec.Connection == connection && strings.EqualFold(rec.Email, email) {
			return true
		}
	}
	return false
}

// usernameTaken reports whether another user of the connection has
// username; the caller holds t.mu.
func (t *Tenant) usernameTaken(connection, username, exceptID string) bool {
	for _, rec := range t.users {
		if rec.ID != exceptID && rec.Connection == connection && rec.Username != "" && strings.EqualFold(rec.Username, username) {
			return true
		}
	}
	return false
}
