package auth0client

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"

	"github.com/mailproof/mailproof/event"
)

// User is what mailproof reads about an Auth0 user.
type User struct {
	ID            string
	Email         string
	EmailVerified bool
	// Connection is the primary identity's connection name.
	Connection string
	// DatabaseConnection is true when the primary identity's provider is
	// "auth0", that is the user logs in with a password Auth0 stores.
	DatabaseConnection bool
	CreatedAt          time.Time
	// LastPasswordReset is zero until the password was changed by a reset,
	// a ticket or a Management API update.
	LastPasswordReset time.Time
	// LastLogin and LoginsCount let the reconcile sweep see a login the
	// webhook missed; zero before the first login.
	LastLogin   time.Time
	LoginsCount int
	// UpdatedAt is the last change to the profile, a login included.
	UpdatedAt time.Time
	// Provisioned: app_metadata carries ProvisionMarker, so mailproof created the user
	// (or adopted or registered it) and a later run may finish what an interrupted one
	// started.
	Provisioned bool
}

// ProvisionMarker is the app_metadata key mailproof sets on the users it provisions:
// {"mailproof": {"provisioned_at": "…"}}, or {"mailproof": {"adopted_at": "…"}} on the
// users it adopts or registers. A user search can find them by it.
const ProvisionMarker = "mailproof"

// CreateUser describes a user to provision.
type CreateUser struct {
	Email      string
	Name       string
	Connection string
	// Password is the initial password; when empty a random one nobody
	// knows is used, so only the reset link lets the person in. The random
	// one passes every password option a connection can set.
	Password string
}

func toUser(u *management.User) User {
	out := User{
		ID:            u.GetID(),
		Email:         u.GetEmail(),
		EmailVerified: u.GetEmailVerified(),
		LoginsCount:   int(u.GetLoginsCount()),
	}
	if u.AppMetadata != nil {
		_, out.Provisioned = (*u.AppMetadata)[ProvisionMarker]
	}
	if u.CreatedAt != nil {
		out.CreatedAt = *u.CreatedAt
	}
	if u.LastPasswordReset != nil {
		out.LastPasswordReset = *u.LastPasswordReset
	}
	if u.LastLogin != nil {
		out.LastLogin = *u.LastLogin
	}
	if u.UpdatedAt != nil {
		out.UpdatedAt = *u.UpdatedAt
	}
	if id := primaryIdentity(u); id != nil {
		out.Connection = id.GetConnection()
		out.DatabaseConnection = id.GetProvider() == "auth0"
	}
	return out
}

// primaryIdentity is the identity the user id is made of (provider|id);
// linked accounts add others after it.
func primaryIdentity(u *management.User) *management.UserIdentity {
	for _, id := range u.Identities {
		if id != nil && id.GetProvider()+"|"+id.GetUserID() == u.GetID() {
			return id
		}
	}
	if len(u.Identities) > 0 {
		return u.Identities[0]
	}
	return nil
}

// GetUser reads a user by id.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	u, err := m.User.Read(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, c.classify(m, err, ex, ErrUserNotFound))
	}
	return toUser(u), nil
}

// VerifyEmail sets email_verified on the user, sending nothing else, and
// returns the user as Auth0 now has it: the caller must check that answer,
// since the address may have changed after it last read the user.
func (c *Client) VerifyEmail(ctx context.Context, id string) (User, error) {
	return c.setEmailVerified(ctx, id, true, "verify email")
}

// UnverifyEmail sets email_verified back to false, sending nothing else: it
// takes back a flip that landed on an address nobody proved.
func (c *Client) UnverifyEmail(ctx context.Context, id string) (User, error) {
	return c.setEmailVerified(ctx, id, false, "undo verify email")
}

func (c *Client) setEmailVerified(ctx context.Context, id string, verified bool, what string) (User, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	u := &management.User{EmailVerified: auth0.Bool(verified)}
	if err := m.User.Update(ctx, id, u); err != nil {
		return User{}, fmt.Errorf("%s of %s: %w", what, id, c.classify(m, err, ex, ErrUserNotFound))
	}
	return toUser(u), nil
}

// UsersByEmail lists the users that hold an address, in every connection (Auth0
// matches the address exactly, as stored: lower-cased for database users).
func (c *Client) UsersByEmail(ctx context.Context, email string) ([]User, error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	us, err := m.User.ListByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("users by email %s: %w", event.MaskEmail(email), c.classify(m, err, ex, ErrUserNotFound))
	}
	out := make([]User, 0, len(us))
	for _, u := range us {
		out = append(out, toUser(u))
	}
	return out, nil
}

// MarkProvisioned sets ProvisionMarker on a user mailproof adopts or registers, so a
// later run recognises it like one it created and the reconcile sweep's user search and
// exports find it.
func (c *Client) MarkProvisioned(ctx context.Context, id string) error {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	marker := map[string]any{ProvisionMarker: map[string]any{"adopted_at": time.Now().UTC().Format(time.RFC3339Nano)}}
	if err := m.User.Update(ctx, id, &management.User{AppMetadata: &marker}); err != nil {
		return fmt.Errorf("mark %s provisioned: %w", id, c.classify(m, err, ex, ErrUserNotFound))
	}
	return nil
}

// CreateUser creates an unverified user in a database connection. Auth0
// sends no verification email (verify_email false): proving the mailbox is
// what the reset email or ticket and mailproof are for.
func (c *Client) CreateUser(ctx context.Context, in CreateUser) (User, error) {
	if in.Email == "" || in.Connection == "" {
		return User{}, fmt.Errorf("create user: %w: email and connection are required", ErrPermanent)
	}
	password := in.Password
	if password == "" {
		local, _, _ := strings.Cut(in.Email, "@")
		password = randomPassword(local, in.Name)
	}
	marker := map[string]any{ProvisionMarker: map[string]any{"provisioned_at": time.Now().UTC().Format(time.RFC3339Nano)}}
	u := &management.User{
		Connection:    auth0.String(in.Connection),
		Email:         auth0.String(in.Email),
		Password:      auth0.String(password),
		EmailVerified: auth0.Bool(false),
		VerifyEmail:   auth0.Bool(false),
		AppMetadata:   &marker,
	}
	if in.Name != "" {
		u.Name = auth0.String(in.Name)
	}
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	if err := m.User.Create(ctx, u); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", event.MaskEmail(in.Email), c.classify(m, err, ex, ErrUserNotFound))
	}
	if u.GetID() == "" {
		return User{}, fmt.Errorf("create user %s: %w: answer without user_id", event.MaskEmail(in.Email), ErrTransient)
	}
	return toUser(u), nil
}

// passwordAlphabet avoids characters that need escaping anywhere, and
// look-alikes.
const passwordAlphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.!"

// passwordLength is the most Auth0 reads of a password (bcrypt's 72
// bytes): a password this long meets any minimum length a connection can
// set (password_complexity_options.min_length is at most 72).
const passwordLength = 72

// randomPassword returns a password nobody ever learns that every Auth0
// password option accepts: 72 random characters, at least one lower-case
// letter, upper-case letter, digit and special character, never three
// identical characters in a row (the "excellent" policy), and none of
// avoid (the user's email local part and name) inside it, ignoring case,
// so the personal-data option cannot refuse it. Random 72-character
// strings are in no password dictionary, and a new user has no history.
func randomPassword(avoid ...string) string {
	for {
		p := randomChars(passwordLength)
		if excellent(p) && !containsAny(p, avoid) {
			return p
		}
	}
}

// randomChars returns n characters of passwordAlphabet, each equally
// likely.
func randomChars(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand never fails on supported platforms
		// Rejection sampling keeps every character equally likely.
		if int(buf[0]) < 256-256%len(passwordAlphabet) {
			out = append(out, passwordAlphabet[int(buf[0])%len(passwordAlphabet)])
		}
	}
	return string(out)
}

// excellent reports whether p has all four character classes and no
// character three times in a row.
func excellent(p string) bool {
	var lower, upper, digit, special bool
	for i := range len(p) {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			special = true
		}
		if i >= 2 && c == p[i-1] && c == p[i-2] {
			return false
		}
	}
	return lower && upper && digit && special
}

func containsAny(p string, avoid []string) bool {
	lp := strings.ToLower(p)
	for _, a := range avoid {
		if a != "" && strings.Contains(lp, strings.ToLower(a)) {
			return true
		}
	}
	return false
}
