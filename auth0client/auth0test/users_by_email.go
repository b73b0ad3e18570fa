package auth0test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// usersByEmailParams lists the query parameters GET /api/v2/users-by-email
// takes; any other is refused, as Auth0 refuses unknown ones.
var usersByEmailParams = []string{"email", "fields", "include_fields"}

// handleUsersByEmail answers every user, whatever the connection, whose
// stored address is exactly email. Auth0 documents the match as exact and
// case-sensitive; database users are stored lower-cased, so a mixed-case
// query finds none of them. The answer is an array, empty when nobody
// matches, never a 404.
func (t *Tenant) handleUsersByEmail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var extra []string
	for k := range q {
		if !slices.Contains(usersByEmailParams, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		writeQueryError(w, fmt.Sprintf("Query validation error: 'Additional properties not allowed: %s'.", strings.Join(extra, ",")))
		return
	}
	email := q.Get("email")
	if email == "" {
		writeQueryError(w, "Query validation error: 'Missing required property: email'.")
		return
	}

	users := t.UsersByEmail(email)
	out := make([]any, len(users))
	for i, u := range users {
		out[i] = toWire(u)
	}
	if fields := q.Get("fields"); fields != "" {
		// include_fields defaults to true; only "false" turns it off.
		include := q.Get("include_fields") != "false"
		filtered, err := selectFields(out, strings.Split(fields, ","), include)
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, err.Error(), "")
			return
		}
		out = filtered
	}
	writeJSON(w, http.StatusOK, out)
}

// UsersByEmail returns the users whose stored address is exactly email
// (Auth0 stores database users' addresses lower-cased), oldest first.
func (t *Tenant) UsersByEmail(email string) []User {
	t.mu.Lock()
	var out []User
	for _, rec := range t.users {
		if rec.Email == email {
			out = append(out, rec.view())
		}
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// selectFields keeps (include) or drops (!include) the named top-level
// properties of each user, as Auth0's fields and include_fields do.
func selectFields(users []any, fields []string, include bool) ([]any, error) {
	out := make([]any, len(users))
	for i, u := range users {
		raw, err := json.Marshal(u)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		for k := range m {
			if slices.Contains(fields, k) != include {
				delete(m, k)
			}
		}
		out[i] = m
	}
	return out, nil
}

// writeQueryError answers a query-string validation failure. The message
// follows Auth0's "Query validation error: …" wording; the errorCode
// invalid_query_string is unconfirmed.
func writeQueryError(w http.ResponseWriter, message string) {
	writeAPIError(w, http.StatusBadRequest, message, "invalid_query_string")
}
