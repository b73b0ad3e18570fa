package auth0test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// connectionsParams lists the query parameters GET /api/v2/connections
// takes; any other is refused.
var connectionsParams = []string{"name", "strategy", "page", "per_page", "include_totals", "fields", "include_fields"}

// wireConnection is a database connection in Auth0's shape, as recorded.
type wireConnection struct {
	ID                 string         `json:"id"`
	Options            map[string]any `json:"options"`
	Strategy           string         `json:"strategy"`
	Name               string         `json:"name"`
	IsDomainConnection bool           `json:"is_domain_connection"`
	Realms             []string       `json:"realms"`
	EnabledClients     []string       `json:"enabled_clients"`
}

// connectionPage is the include_totals=true answer, in the recorded field
// order (no length, unlike users).
type connectionPage struct {
	Total       int   `json:"total"`
	Start       int   `json:"start"`
	Limit       int   `json:"limit"`
	Connections []any `json:"connections"`
}

// ConnectionID returns the con_… id of a connection the tenant has.
func (t *Tenant) ConnectionID(name string) (string, bool) {
	id, ok := t.connIDs[name] // written only by Start
	return id, ok
}

// connectionName returns the name of the connection with id.
func (t *Tenant) connectionName(id string) (string, bool) {
	for name, cid := range t.connIDs {
		if cid == id {
			return name, true
		}
	}
	return "", false
}

// handleListConnections lists the tenant's database connections, filtered
// by name (exact) and strategy, the way go-auth0's ReadByName asks.
func (t *Tenant) handleListConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var extra []string
	for k := range q {
		if !slices.Contains(connectionsParams, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		writeQueryError(w, fmt.Sprintf("Query validation error: 'Additional properties not allowed: %s'.", strings.Join(extra, ",")))
		return
	}
	page, okPage := intParam(q, "page", 0, 0, -1)
	perPage, okPer := intParam(q, "per_page", defaultPerPage, 0, maxPerPage)
	if !okPage || !okPer {
		writeQueryError(w, "Query validation error: 'Expected type integer' on property page or per_page.")
		return
	}

	var all []wireConnection
	for name, id := range t.connIDs {
		if n := q.Get("name"); n != "" && n != name {
			continue
		}
		if s := q.Get("strategy"); s != "" && s != "auth0" {
			continue
		}
		all = append(all, wireConnection{
			ID:       id,
			Options:  t.options(name).wire(),
			Strategy: "auth0",
			Name:     name,
			Realms:   []string{name},
			// The emulator's one application may use every connection.
			EnabledClients: []string{t.clientID},
		})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	start := min(page*perPage, len(all))
	out := []any{}
	for _, c := range all[start:min(start+perPage, len(all))] {
		out = append(out, c)
	}
	if fields := q.Get("fields"); fields != "" {
		var err error
		if out, err = selectFields(out, strings.Split(fields, ","), q.Get("include_fields") != "false"); err != nil {
			writeAPIError(w, http.StatusInternalServerError, err.Error(), "")
			return
		}
	}
	if q.Get("include_totals") != "true" {
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, connectionPage{Total: len(all), Start: page * perPage, Limit: perPage, Connections: out})
}
