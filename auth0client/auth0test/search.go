package auth0test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

const (
	// searchWindow is how many results of one query Auth0 lets a client
	// page through.
	searchWindow = 1000
	// maxPerPage and defaultPerPage bound and default per_page.
	maxPerPage     = 100
	defaultPerPage = 50
	// pagingMessage is Auth0's answer past the window, as reported by
	// clients that met it (errorCode invalid_paging).
	pagingMessage = "You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation"
)

// searchParams lists the query parameters GET /api/v2/users takes; any
// other is refused.
var searchParams = []string{"q", "search_engine", "page", "per_page", "include_totals", "sort", "fields", "include_fields", "primary_order"}

// userPage is the include_totals=true answer, in Auth0's field order.
type userPage struct {
	Start  int   `json:"start"`
	Limit  int   `json:"limit"`
	Length int   `json:"length"`
	Users  []any `json:"users"`
	Total  int   `json:"total"`
}

// searchRequest is a validated GET /api/v2/users request.
type searchRequest struct {
	q             query // nil: every user
	page, perPage int
	totals        bool
	sortField     string
	sortDesc      bool
	fields        []string
	includeFields bool
}

// handleSearchUsers lists or searches users through the search index: the
// answer may lag writes, as Auth0's does.
func (t *Tenant) handleSearchUsers(w http.ResponseWriter, r *http.Request) {
	req, msg := parseSearchRequest(r.URL.Query())
	if msg != "" {
		writeQueryError(w, msg)
		return
	}
	start := req.page * req.perPage
	if start+req.perPage > searchWindow {
		writeAPIError(w, http.StatusBadRequest, pagingMessage, "invalid_paging")
		return
	}

	t.mu.Lock()
	candidates := t.searchableLocked(t.now())
	t.mu.Unlock()
	var hits []indexed
	for _, v := range candidates {
		if req.q == nil || req.q.match(v.doc) {
			hits = append(hits, v)
		}
	}
	sortHits(hits, req.sortField, req.sortDesc)

	out := []any{}
	for _, v := range hits[min(start, len(hits)):min(start+req.perPage, len(hits))] {
		out = append(out, toWire(*v.user))
	}
	if req.fields != nil {
		var err error
		if out, err = selectFields(out, req.fields, req.includeFields); err != nil {
			writeAPIError(w, http.StatusInternalServerError, err.Error(), "")
			return
		}
	}
	if !req.totals {
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, userPage{Start: start, Limit: req.perPage, Length: len(out), Users: out, Total: len(hits)})
}

// parseSearchRequest validates the query string; msg is the 400 message
// when it is not valid.
func parseSearchRequest(v url.Values) (req searchRequest, msg string) {
	var extra []string
	for k := range v {
		if !slices.Contains(searchParams, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return req, fmt.Sprintf("Query validation error: 'Additional properties not allowed: %s'.", strings.Join(extra, ","))
	}
	if e := v.Get("search_engine"); e != "" && e != "v3" {
		return req, fmt.Sprintf("Query validation error: 'No enum match for: \"%s\"' on property search_engine.", e)
	}
	var ok bool
	if req.page, ok = intParam(v, "page", 0, 0, -1); !ok {
		return req, "Query validation error: 'Expected type integer, at least 0' on property page."
	}
	if req.perPage, ok = intParam(v, "per_page", defaultPerPage, 0, maxPerPage); !ok {
		return req, fmt.Sprintf("Query validation error: 'Expected type integer, between 0 and %d' on property per_page.", maxPerPage)
	}
	for _, b := range []string{"include_totals", "include_fields", "primary_order"} {
		if s := v.Get(b); s != "" && s != "true" && s != "false" {
			return req, fmt.Sprintf("Query validation error: 'Expected type boolean but found type string' on property %s.", b)
		}
	}
	req.totals = v.Get("include_totals") == "true"
	if s := v.Get("sort"); s != "" {
		field, dir, _ := strings.Cut(s, ":")
		if k := kindOf(field); k == kindNone || k == kindAppMeta || k == kindUserMeta || (dir != "1" && dir != "-1") {
			return req, fmt.Sprintf("Query validation error: 'Invalid sort %q: expected a searchable profile field, then :1 or :-1' on property sort.", s)
		}
		req.sortField, req.sortDesc = field, dir == "-1"
	}
	if f := v.Get("fields"); f != "" {
		req.fields = strings.Split(f, ",")
		req.includeFields = v.Get("include_fields") != "false"
	}
	if q := strings.TrimSpace(v.Get("q")); q != "" {
		parsed, err := parseQuery(q)
		if err != nil {
			return req, fmt.Sprintf("Query validation error: 'Invalid query: %s' on property q.", err)
		}
		req.q = parsed
	}
	return req, ""
}

// intParam reads a non-negative integer parameter no larger than hi (no
// limit when hi < 0), def when absent.
func intParam(v url.Values, name string, def, lo, hi int) (int, bool) {
	s := v.Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || hi >= 0 && n > hi {
		return 0, false
	}
	return n, true
}

// sortHits orders hits by field (created_at when empty), users without a
// value last, then by user_id so that pages never overlap.
func sortHits(hits []indexed, field string, desc bool) {
	if field == "" {
		field = "created_at"
	}
	key := func(v indexed) any {
		for _, n := range nodes(v.doc, field) {
			if _, obj := n.(map[string]any); !obj {
				return n
			}
		}
		return nil
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := key(hits[i]), key(hits[j])
		switch {
		case a == nil && b == nil:
		case a == nil:
			return false
		case b == nil:
			return true
		default:
			if c := compareValues(a, b); c != 0 {
				return c < 0 != desc
			}
		}
		return hits[i].user.ID < hits[j].user.ID
	})
}

// compareValues orders two values of one field: numbers by value, booleans
// false first, strings (ISO dates among them) by bytes.
func compareValues(a, b any) int {
	switch a := a.(type) {
	case float64:
		if b, ok := b.(float64); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	case bool:
		if b, ok := b.(bool); ok && a != b {
			if !a {
				return -1
			}
			return 1
		}
		return 0
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}
