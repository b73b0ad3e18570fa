package auth0test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// MailproofScopes are the Management API scopes mailproof's calls need: the
// grant of the tenant's client unless Config.Scopes says otherwise, so a
// test of a call mailproof makes fails here as it would at Auth0 when the
// scope is missing from the list. auth0client.RequiredScopes is the same
// list, written again because the emulator imports nothing of mailproof; a
// test in auth0client holds the two equal.
var MailproofScopes = []string{
	"read:users", "update:users", "create:users", "create:user_tickets",
	"read:actions", "create:actions", "update:actions",
}

// SetScopes replaces the scopes granted to the client. As at Auth0, a token
// already issued keeps its scopes until it expires: RevokeTokens makes the
// client fetch a new one.
func (t *Tenant) SetScopes(scopes []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.grant = slices.Clone(scopes)
}

// Scopes returns the scopes granted to the client now.
func (t *Tenant) Scopes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.grant)
}

// routeScopes returns, for a Management API route (its pattern in routes),
// the scopes any one of which allows it, as the Management API reference
// lists them; false for a route it does not know. The *:current_user
// scopes Auth0 also accepts on the users routes are left out: they are for
// tokens issued to a person, which this tenant never issues for the API.
func routeScopes(pattern string) ([]string, bool) {
	switch pattern {
	case "POST /api/v2/users":
		return []string{"create:users"}, true
	case "GET /api/v2/users":
		return []string{"read:users", "read:user_idp_tokens"}, true
	case "GET /api/v2/users/{id}":
		return []string{"read:users", "read:user_idp_tokens"}, true
	case "PATCH /api/v2/users/{id}":
		return []string{"update:users", "update:users_app_metadata"}, true
	case "DELETE /api/v2/users/{id}":
		return []string{"delete:users"}, true
	case "GET /api/v2/users-by-email":
		return []string{"read:users"}, true
	case "POST /api/v2/tickets/password-change":
		return []string{"create:user_tickets"}, true
	case "GET /api/v2/connections":
		return []string{"read:connections"}, true
	case "POST /api/v2/jobs/users-exports":
		return []string{"read:users"}, true
	case "GET /api/v2/jobs/{id}":
		return []string{"create:users", "read:users"}, true
	case "GET /api/v2/actions/actions", "GET /api/v2/actions/actions/{id}",
		"GET /api/v2/actions/triggers/{trigger}/bindings":
		return []string{"read:actions"}, true
	case "POST /api/v2/actions/actions", "POST /api/v2/actions/actions/{id}/deploy":
		return []string{"create:actions"}, true
	case "PATCH /api/v2/actions/actions/{id}", "PATCH /api/v2/actions/triggers/{trigger}/bindings":
		return []string{"update:actions"}, true
	case "DELETE /api/v2/actions/actions/{id}":
		return []string{"delete:actions"}, true
	}
	return nil, false
}

// permitted checks that the token's scopes allow the call and otherwise
// answers Auth0's 403: {"statusCode":403,"error":"Forbidden","message":
// "Insufficient scope, expected any of: update:users,update:users_app_metadata",
// "errorCode":"insufficient_scope"}, the scopes joined by commas as Auth0
// joins them. update:users_app_metadata alone allows a PATCH of
// app_metadata only; a PATCH of anything else with it is refused naming
// update:users (the wording of that refusal is the emulator's). A route
// with a method that routeScopes does not know answers 500, so a new route
// cannot slip through unchecked.
func (t *Tenant) permitted(w http.ResponseWriter, r *http.Request, granted []string, body []byte) bool {
	_, pattern := t.mux.Handler(r)
	need, ok := routeScopes(pattern)
	method, _, hasMethod := strings.Cut(pattern, " ")
	switch {
	case !ok && hasMethod && method != "":
		writeAPIError(w, http.StatusInternalServerError, fmt.Sprintf("auth0test: no scopes listed for %s", pattern), "")
		return false
	case !ok:
		return true // the catch-all: Auth0's 404 for a route it does not have
	case pattern == "PATCH /api/v2/users/{id}" && !slices.Contains(granted, "update:users") &&
		slices.Contains(granted, "update:users_app_metadata") && !onlyAppMetadata(body):
		need = []string{"update:users"}
	case slices.ContainsFunc(need, func(s string) bool { return slices.Contains(granted, s) }):
		return true
	}
	writeAPIError(w, http.StatusForbidden, "Insufficient scope, expected any of: "+strings.Join(need, ","), "insufficient_scope")
	return false
}

// onlyAppMetadata reports whether a user update body sets app_metadata and
// nothing else.
func onlyAppMetadata(body []byte) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return false
	}
	_, ok := fields["app_metadata"]
	return ok && len(fields) == 1
}
