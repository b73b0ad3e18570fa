package auth0test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// pagedTenant seeds n users created a minute apart, so created_at order is
// the seeding order.
func pagedTenant(t *testing.T, n int) (*Tenant, *http.Client, string, []string) {
	t.Helper()
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Rate: 1, Burst: 1000})
	c := httpClient(tn, 5*time.Second)
	var all []string
	for i := range n {
		u := tn.AddUser(UserSeed{ID: fmt.Sprintf("auth0|u%04d", i), Email: fmt.Sprintf("u%04d@example.com", i),
			CreatedAt: clock.Now().Add(time.Duration(i) * time.Minute), LoginsCount: n - i})
		all = append(all, u.ID)
	}
	return tn, c, token(t, tn, c), all
}

func TestSearchPagingAndTotals(t *testing.T) {
	tn, c, tok, all := pagedTenant(t, 25)

	tests := []struct {
		name   string
		params url.Values
		want   []string
	}{
		{"first page", url.Values{"per_page": {"10"}, "page": {"0"}}, all[:10]},
		{"second page", url.Values{"per_page": {"10"}, "page": {"1"}}, all[10:20]},
		{"last, short page", url.Values{"per_page": {"10"}, "page": {"2"}}, all[20:]},
		{"past the end", url.Values{"per_page": {"10"}, "page": {"3"}}, []string{}},
		{"default per_page is 50", nil, all},
		{"sort descending", url.Values{"sort": {"created_at:-1"}, "per_page": {"3"}}, []string{all[24], all[23], all[22]}},
		{"sort by a number", url.Values{"sort": {"logins_count:1"}, "per_page": {"2"}}, []string{all[24], all[23]}},
	}
	for _, tc := range tests {
		resp := searchUsers(t, tn, c, tok, "", tc.params)
		if resp.status != http.StatusOK {
			t.Errorf("%s: status %d (%s), want 200", tc.name, resp.status, resp.body)
			continue
		}
		if got := ids(t, resp); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// include_totals=true wraps the page, in the recorded shape.
	resp := searchUsers(t, tn, c, tok, "logins_count:[1 TO 20]", url.Values{"per_page": {"10"}, "page": {"1"}, "include_totals": {"true"}})
	if resp.status != http.StatusOK {
		t.Fatalf("totals: status %d (%s), want 200", resp.status, resp.body)
	}
	if !strings.HasPrefix(string(resp.body), `{"start":10,"limit":10,"length":10,"users":[`) || !strings.HasSuffix(string(resp.body), `],"total":20}`) {
		t.Errorf("totals: body %.120s…, want start 10, limit 10, length 10, users, total 20", resp.body)
	}
	users, _ := resp.json(t)["users"].([]any)
	if first, _ := users[0].(map[string]any); first["user_id"] != all[15] {
		t.Errorf("totals: first user %v, want %s", first["user_id"], all[15])
	}

	// fields and include_fields trim each user.
	resp = searchUsers(t, tn, c, tok, "email:u0001@example.com", url.Values{"fields": {"user_id,email"}, "include_fields": {"true"}})
	if got := resp.array(t); len(got) != 1 || len(got[0]) != 2 || got[0]["email"] != "u0001@example.com" {
		t.Errorf("fields: got %v, want only user_id and email", got)
	}
}

func TestSearchWindow(t *testing.T) {
	tn, c, tok, all := pagedTenant(t, 1005)
	tests := []struct {
		name       string
		page, per  int
		wantStatus int
		wantFirst  string
	}{
		{"last page inside the first 1000", 9, 100, 200, all[900]},
		{"first page past 1000", 10, 100, 400, ""},
		{"a page that would cross 1000", 33, 30, 400, ""},
		{"the last whole page before 1000", 32, 30, 200, all[960]},
		{"past 1000 even with few matches", 20, 50, 400, ""},
	}
	for _, tc := range tests {
		resp := searchUsers(t, tn, c, tok, "", url.Values{"page": {fmt.Sprint(tc.page)}, "per_page": {fmt.Sprint(tc.per)}, "include_totals": {"true"}})
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status %d (%.200s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			continue
		}
		got := resp.json(t)
		if tc.wantStatus != http.StatusOK {
			if got["message"] != pagingMessage || got["errorCode"] != "invalid_paging" || got["error"] != "Bad Request" {
				t.Errorf("%s: body %s, want Auth0's paging error", tc.name, resp.body)
			}
			continue
		}
		users, _ := got["users"].([]any)
		first, _ := users[0].(map[string]any)
		if first["user_id"] != tc.wantFirst || got["total"] != 1005.0 {
			t.Errorf("%s: first %v, total %v, want %s and 1005", tc.name, first["user_id"], got["total"], tc.wantFirst)
		}
	}
}

func TestSearchParameters(t *testing.T) {
	tn, c, tok, _ := pagedTenant(t, 2)
	tests := []struct {
		name   string
		params url.Values
		want   string // a substring of the 400 message
	}{
		{"per_page above 100", url.Values{"per_page": {"101"}}, "per_page"},
		{"negative page", url.Values{"page": {"-1"}}, "page"},
		{"page not a number", url.Values{"page": {"two"}}, "page"},
		{"unknown parameter", url.Values{"connection": {"x"}}, "Additional properties not allowed: connection"},
		{"search engine v2", url.Values{"search_engine": {"v2"}}, "search_engine"},
		{"include_totals not a boolean", url.Values{"include_totals": {"yes"}}, "include_totals"},
		{"sort on metadata", url.Values{"sort": {"app_metadata.x:1"}}, "sort"},
		{"sort without a direction", url.Values{"sort": {"created_at"}}, "sort"},
	}
	for _, tc := range tests {
		resp := searchUsers(t, tn, c, tok, "", tc.params)
		msg, _ := resp.json(t)["message"].(string)
		if resp.status != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: status %d (%s), want 400 mentioning %q", tc.name, resp.status, resp.body, tc.want)
		}
	}
}

func TestSearchSpendsTheBucket(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Rate: 1, Burst: 2})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	for i, want := range []int{200, 200, 429} {
		resp := searchUsers(t, tn, c, tok, "email_verified:false", nil)
		if resp.status != want || resp.header.Get("X-Ratelimit-Limit") != "2" {
			t.Errorf("search %d: status %d, x-ratelimit-limit %q, want %d and 2", i, resp.status, resp.header.Get("X-Ratelimit-Limit"), want)
		}
	}
}
