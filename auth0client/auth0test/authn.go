package auth0test

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	tokenLifetime = 24 * time.Hour
	resetSent     = "We've just sent you an email to reset your password."
)

// authForm reads an Authentication API body, which Auth0 accepts as JSON or
// as a form, into string fields.
func authForm(r *http.Request) (map[string]string, error) {
	media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	switch media {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k := range v {
			out[k] = v.Get(k)
		}
	default:
		return nil, fmt.Errorf("unsupported content type %q", media)
	}
	return out, nil
}

// handleToken implements the client-credentials grant and, for a person
// logging in through a backend, the password-realm grant (login.go): the
// tenant's one application has both grants enabled, and not the plain
// password grant. Credentials may come
// in the body (client_secret_post) or, as golang.org/x/oauth2 tries first,
// in a Basic header whose parts are form-encoded (client_secret_basic).
func (t *Tenant) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json") // every answer, errors too
	form, err := authForm(r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request body")
		return
	}
	id, secret := form["client_id"], form["client_secret"]
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	grant := form["grant_type"]
	if grant == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
		return
	}
	if !t.validClient(id, secret) {
		writeOAuthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	if grant == passwordRealmGrant {
		t.handlePasswordRealm(w, r, form, id)
		return
	}
	if grant != "client_credentials" {
		writeOAuthError(w, http.StatusForbidden, "unauthorized_client",
			fmt.Sprintf("Grant type '%s' not allowed for the client.", grant))
		return
	}
	audience := form["audience"]
	switch audience {
	case "":
		writeOAuthError(w, http.StatusForbidden, "access_denied",
			"No audience parameter was provided, and no default audience has been configured")
		return
	case "https://" + r.Host + "/api/v2/", t.URL() + "/api/v2/":
	default:
		writeOAuthError(w, http.StatusForbidden, "access_denied", "Service not enabled within domain: "+audience)
		return
	}

	token, scopes, err := t.issueToken(t.now())
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"scope":        strings.Join(scopes, " "),
		"expires_in":   int(tokenLifetime.Seconds()),
		"token_type":   "Bearer",
	})
}

func (t *Tenant) validClient(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(t.clientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(t.clientSecret)) == 1
	return idOK && secretOK
}

// handleChangePassword is the "send me a reset email" endpoint. Like Auth0
// it answers the same whether or not the user exists, so callers cannot
// probe for accounts, and only an existing user gets an email (Outbox).
// client_id is optional, as at Auth0; one that is not the tenant's client
// is refused. Requests are limited per IP address and email address, with
// the x-ratelimit-* headers of that limit.
func (t *Tenant) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	form, err := authForm(r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request body")
		return
	}
	clientID := form["client_id"]
	switch {
	case form["email"] == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "email is required")
		return
	case form["connection"] == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "connection is required")
		return
	case !t.connections[form["connection"]]:
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "connection not found")
		return
	case clientID != "" && clientID != t.clientID:
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Unknown client")
		return
	}
	// Database connections store addresses lower-cased.
	email := strings.ToLower(strings.TrimSpace(form["email"]))

	t.mu.Lock()
	ok, st := t.resetLimits.take(clientIP(r)+" "+email, t.now())
	t.mu.Unlock()
	// This limit's headers replace the Authentication API's.
	st.setHeaders(w.Header())
	if !ok {
		writeAuthRateLimited(w)
		return
	}
	t.sendResetEmail(email, form["connection"], clientID)
	// Auth0 labels this plain sentence text/html (go-auth0's recording).
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, resetSent)
}

// clientIP is the address a request came from, the key of Auth0's per-IP
// limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RevokeTokens invalidates every access token issued so far, as a signing
// key rotation or a revoked grant does at Auth0: the next Management API
// call with an old token answers 401, and the client's next token carries
// the scopes granted then (SetScopes).
func (t *Tenant) RevokeTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.tokens)
}
