package auth0test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	// passwordRealmGrant is Auth0's password grant naming the connection
	// (realm) to log in to.
	passwordRealmGrant = "http://auth0.com/oauth/grant-type/password-realm"
	// defaultLoginScope is what a password grant without scope gets, as in
	// go-auth0's recording TestOAuthLoginWithPassword.
	defaultLoginScope = "openid profile email address phone"
	// tenantName is event.tenant.id; clientName is the application's name
	// in event.client.
	tenantName = "auth0test"
	clientName = "auth0test application"
)

// loginContext is how one login arrived.
type loginContext struct {
	clientID  string
	ip        string
	userAgent string
	language  string
	protocol  string // event.transaction.protocol
	scopes    []string
	session   bool // whether the login makes a session (a browser login does)
}

// handlePasswordRealm logs a person in with a password, the way a backend
// does through the Authentication API: it checks the password, moves
// last_login and logins_count on, runs the OnLogin hooks with the
// post-login event (the login waits for them, as it waits for an Action)
// and answers tokens. The client is already authenticated.
func (t *Tenant) handlePasswordRealm(w http.ResponseWriter, r *http.Request, form map[string]string, clientID string) {
	for _, p := range []string{"username", "password", "realm"} {
		if form[p] == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: "+p)
			return
		}
	}
	realm := form["realm"]
	if !t.connections[realm] {
		// Unconfirmed wording: Auth0's answer for an unknown realm.
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Unknown realm: "+realm)
		return
	}
	if aud := form["audience"]; aud != "" {
		// Only opaque tokens for /userinfo are modelled, no API audience.
		writeOAuthError(w, http.StatusForbidden, "access_denied", "Service not enabled within domain: "+aud)
		return
	}
	scope := form["scope"]
	if scope == "" {
		scope = defaultLoginScope
	}
	lc := loginContext{
		clientID:  clientID,
		ip:        forwardedIP(r),
		userAgent: r.UserAgent(),
		language:  r.Header.Get("Accept-Language"),
		protocol:  "oauth2-password",
		scopes:    strings.Fields(scope),
	}
	at := t.now()
	username := strings.ToLower(strings.TrimSpace(form["username"]))
	byUsername := t.options(realm).RequiresUsername

	t.mu.Lock()
	var found *record
	for _, rec := range t.users {
		// A connection that requires usernames takes either identifier.
		named := rec.Email == username || byUsername && rec.Username != "" && rec.Username == username
		if rec.Connection == realm && named && rec.passwordIs(form["password"]) {
			found = rec
			break
		}
	}
	if found == nil {
		t.mu.Unlock()
		// Auth0 does not tell an unknown user from a wrong password.
		writeOAuthError(w, http.StatusForbidden, "invalid_grant", "Wrong email or password.")
		return
	}
	if found.Blocked {
		t.mu.Unlock()
		// Unconfirmed wording: Auth0's answer for a blocked user.
		writeOAuthError(w, http.StatusUnauthorized, "unauthorized", "user is blocked")
		return
	}
	u, ev := t.loginLocked(found, at, lc)
	t.mu.Unlock()
	t.runLoginHooks(ev)

	answer := map[string]any{
		"access_token": randomHex(32), // opaque: good for /userinfo only, not the Management API
		"scope":        scope,
		"expires_in":   int(tokenLifetime.Seconds()),
		"token_type":   "Bearer",
	}
	if slices.Contains(lc.scopes, "openid") {
		idt, err := t.idToken(u, clientID, lc.scopes, at)
		if err != nil {
			writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		answer["id_token"] = idt
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, answer)
}

// forwardedIP is the end user's address: auth0-forwarded-for, which Auth0
// trusts from a confidential application that sets it for its users, else
// the connection's address.
func forwardedIP(r *http.Request) string {
	if ip := strings.TrimSpace(r.Header.Get("Auth0-Forwarded-For")); ip != "" {
		return ip
	}
	return clientIP(r)
}

// loginLocked records a successful login of rec and returns the user as
// the login found it (stats moved on) and the post-login event; the caller
// holds t.mu and runs the hooks once it is released.
func (t *Tenant) loginLocked(rec *record, at time.Time, lc loginContext) (User, PostLoginEvent) {
	rec.LoginsCount++
	rec.LastLogin = utc(at)
	t.indexLocked(rec.ID)
	u := rec.view()
	ev := PostLoginEvent{
		Authentication: &EventAuthentication{Methods: []AuthMethod{{Name: "pwd", Timestamp: iso(at)}}},
		Client:         EventClient{ClientID: lc.clientID, Name: clientName, Metadata: map[string]any{}},
		Connection: EventConnection{ID: t.connIDs[rec.Connection], Name: rec.Connection, Strategy: "auth0",
			Metadata: map[string]any{}},
		Request: EventRequest{IP: lc.ip, Hostname: t.domain, Method: http.MethodPost,
			UserAgent: lc.userAgent, Language: lc.language},
		Stats:       EventStats{LoginsCount: rec.LoginsCount},
		Tenant:      EventTenant{ID: tenantName},
		Transaction: &EventTransaction{ID: randomAlnum(32), Protocol: lc.protocol, RequestedScopes: lc.scopes},
		User:        eventUser(u),
	}
	if lc.session {
		ev.Session = &EventSession{ID: randomAlnum(32)}
	}
	t.logins = append(t.logins, ev)
	return u, ev.clone()
}

func (t *Tenant) runLoginHooks(ev PostLoginEvent) {
	t.mu.Lock()
	hooks := slices.Clone(t.loginHooks)
	t.mu.Unlock()
	for _, f := range hooks {
		f(ev.clone())
	}
}

// OnLogin registers f to run on every later login, as a post-login Action
// does: synchronously, after logins_count and last_login moved on and
// before the login answers, with the event the Action would get. f runs
// without the tenant's lock, so it may call the tenant, over HTTP too (a
// Management API change it makes does not reach the login's own ID token,
// as at Auth0). Hooks run in the order registered.
func (t *Tenant) OnLogin(f func(PostLoginEvent)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loginHooks = append(t.loginHooks, f)
}

// Logins returns the post-login event of every login so far, oldest first.
func (t *Tenant) Logins() []PostLoginEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PostLoginEvent, len(t.logins))
	for i, ev := range t.logins {
		out[i] = ev.clone()
	}
	return out
}

// Login simulates a successful browser login (Universal Login: a password
// and a new session) at the given time, without checking a password:
// logins_count and last_login move on, the OnLogin hooks run, and the user
// is returned as the post-login event sees it.
func (t *Tenant) Login(id string, at time.Time) (User, bool) {
	t.mu.Lock()
	rec, ok := t.users[id]
	if !ok {
		t.mu.Unlock()
		return User{}, false
	}
	u, ev := t.loginLocked(rec, at, loginContext{
		clientID: t.clientID,
		ip:       "127.0.0.1",
		protocol: "oidc-basic-profile",
		scopes:   []string{"openid", "profile", "email"},
		session:  true,
	})
	t.mu.Unlock()
	t.runLoginHooks(ev)
	return u, true
}

// clone copies ev deep enough that the copy's slices and metadata maps can
// be changed without touching the tenant's record.
func (ev PostLoginEvent) clone() PostLoginEvent {
	if ev.Authentication != nil {
		a := *ev.Authentication
		a.Methods = slices.Clone(a.Methods)
		ev.Authentication = &a
	}
	if ev.Session != nil {
		s := *ev.Session
		ev.Session = &s
	}
	if ev.Transaction != nil {
		tx := *ev.Transaction
		tx.RequestedScopes = slices.Clone(tx.RequestedScopes)
		ev.Transaction = &tx
	}
	ev.Client.Metadata = maps.Clone(ev.Client.Metadata)
	ev.Connection.Metadata = maps.Clone(ev.Connection.Metadata)
	ev.User.Identities = slices.Clone(ev.User.Identities)
	ev.User.AppMetadata = maps.Clone(ev.User.AppMetadata)
	ev.User.UserMetadata = maps.Clone(ev.User.UserMetadata)
	return ev
}
