package auth0test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	apiPrefix = "/api/v2/"
	// maxBody bounds what the tenant reads from one request.
	maxBody = 1 << 20
)

// routes maps every emulated endpoint. Anything else under /api/v2/ gets
// Auth0's JSON 404, whatever the method.
func (t *Tenant) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", t.handleToken)
	mux.HandleFunc("GET /.well-known/jwks.json", t.handleJWKS)
	mux.HandleFunc("POST /dbconnections/change_password", t.handleChangePassword)
	mux.HandleFunc("GET "+resetPath, t.handleResetPage)
	mux.HandleFunc("POST "+resetPath, t.handleResetSubmit)

	mux.HandleFunc("POST /api/v2/users", t.handleCreateUser)
	mux.HandleFunc("GET /api/v2/users", t.handleSearchUsers)
	mux.HandleFunc("GET /api/v2/users/{id}", t.handleGetUser)
	mux.HandleFunc("PATCH /api/v2/users/{id}", t.handlePatchUser)
	mux.HandleFunc("DELETE /api/v2/users/{id}", t.handleDeleteUser)
	mux.HandleFunc("GET /api/v2/users-by-email", t.handleUsersByEmail)
	mux.HandleFunc("POST /api/v2/tickets/password-change", t.handlePasswordTicket)
	mux.HandleFunc("GET /api/v2/connections", t.handleListConnections)
	mux.HandleFunc("POST /api/v2/jobs/users-exports", t.handleCreateExport)
	mux.HandleFunc("GET /api/v2/jobs/{id}", t.handleGetJob)
	mux.HandleFunc("GET "+exportPrefix+"{job}/{file}", t.handleExportDownload)

	mux.HandleFunc("POST /api/v2/actions/actions", t.handleCreateAction)
	mux.HandleFunc("GET /api/v2/actions/actions", t.handleListActions)
	mux.HandleFunc("GET /api/v2/actions/actions/{id}", t.handleGetAction)
	mux.HandleFunc("PATCH /api/v2/actions/actions/{id}", t.handlePatchAction)
	mux.HandleFunc("DELETE /api/v2/actions/actions/{id}", t.handleDeleteAction)
	mux.HandleFunc("POST /api/v2/actions/actions/{id}/deploy", t.handleDeployAction)
	mux.HandleFunc("GET /api/v2/actions/triggers/{trigger}/bindings", t.handleGetBindings)
	mux.HandleFunc("PATCH /api/v2/actions/triggers/{trigger}/bindings", t.handlePatchBindings)

	mux.HandleFunc("/api/v2/", func(w http.ResponseWriter, _ *http.Request) { writeRouteNotFound(w) })
	mux.HandleFunc("/", http.NotFound)
	return mux
}

// serve wraps every request: it records the call, applies injected faults,
// spends the rate-limit buckets of the plan (plans.go) and, for the
// Management API, checks the bearer token and its scopes before routing.
func (t *Tenant) serve(w http.ResponseWriter, r *http.Request) {
	// A handler the server started just before Close must not join the wait group
	// Close is already waiting on (Add racing Wait): it answers nothing instead.
	t.closeMu.Lock()
	if t.closing {
		t.closeMu.Unlock()
		panic(http.ErrAbortHandler)
	}
	t.inflight.Add(1)
	t.closeMu.Unlock()
	defer t.inflight.Done()

	at := t.now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	// Deferred so that hung and dropped requests are recorded too (the
	// latter while the abort panic unwinds).
	defer func() {
		t.record(Call{
			Method:           r.Method,
			Path:             r.URL.Path,
			Query:            r.URL.RawQuery,
			Status:           sw.status,
			At:               at,
			Body:             redact(r.Header.Get("Content-Type"), body),
			UserAgent:        r.UserAgent(),
			HasAuthorization: r.Header.Get("Authorization") != "",
		})
	}()

	f, faulted := t.takeFault(r.Method, r.URL.Path)
	if faulted && f.AfterWrite {
		t.serveAfterWrite(sw, r, f, func(w http.ResponseWriter) { t.handle(w, r, body) })
		return
	}
	if faulted && t.applyFault(sw, r, f) {
		return
	}
	t.handle(sw, r, body)
}

// handle answers a request no fault stopped: the rate limits, the token and its
// scopes, then the route (with any email change armed for the call).
func (t *Tenant) handle(sw http.ResponseWriter, r *http.Request, body []byte) {
	if !strings.HasPrefix(r.URL.Path, apiPrefix) && !t.spendAuthentication(sw, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, apiPrefix) {
		t.mu.Lock()
		ok, st := t.limits.take(r.Method, r.URL.Path, t.now())
		t.mu.Unlock()
		st.setHeaders(sw.Header())
		if !ok {
			writeRateLimited(sw)
			return
		}
		scopes, ok := t.authorized(sw, r)
		if !ok || !t.permitted(sw, r, scopes, body) {
			return
		}
	}
	t.serveWithChanges(sw, r)
}

// authorized checks the bearer token and answers 401 the way Auth0 does when
// it is missing, unknown or expired; it returns the token's scopes.
func (t *Tenant) authorized(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		writeAPIError(w, http.StatusUnauthorized, "Missing authentication", "")
		return nil, false
	}
	t.mu.Lock()
	issued, known := t.tokens[token]
	t.mu.Unlock()
	switch {
	case !known:
		writeAPIError(w, http.StatusUnauthorized, "Invalid token", "")
		return nil, false
	case !t.now().Before(issued.expiry):
		writeAPIError(w, http.StatusUnauthorized, "Expired token received for JSON Web Token validation", "")
		return nil, false
	}
	return issued.scopes, true
}

// randomHex returns n random bytes, hex encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand panics rather than err on supported platforms
	return hex.EncodeToString(b)
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomAlnum returns n random letters and digits, the alphabet Auth0 uses
// for client ids and ticket codes.
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	b := make([]byte, 1)
	for len(out) < n {
		_, _ = rand.Read(b)
		// Rejection sampling keeps every character equally likely.
		if int(b[0]) < 256-256%len(alnum) {
			out = append(out, alnum[int(b[0])%len(alnum)])
		}
	}
	return string(out)
}

// iso formats a time the way Auth0 does: UTC with milliseconds.
func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
