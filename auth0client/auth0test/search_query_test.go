package auth0test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// searchUsers runs GET /api/v2/users with q and extra parameters and
// returns the answer.
func searchUsers(t *testing.T, tn *Tenant, c *http.Client, tok, q string, extra url.Values) response {
	t.Helper()
	v := url.Values{"search_engine": {"v3"}}
	if q != "" {
		v.Set("q", q)
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return call(t, c, http.MethodGet, tn.URL()+"/api/v2/users?"+v.Encode(), tok, nil)
}

// ids lists the user_id of each user in a bare-array answer.
func ids(t *testing.T, r response) []string {
	t.Helper()
	out := []string{}
	for _, u := range r.array(t) {
		id, _ := u["user_id"].(string)
		out = append(out, id)
	}
	return out
}

// queryTenant seeds three users that differ in every searchable way.
func queryTenant(t *testing.T) (*Tenant, *http.Client, string) {
	t.Helper()
	clock := newFakeClock()
	// The clock never moves: the bucket must hold every call of a table.
	tn := NewT(t, Config{Now: clock.Now, Connections: []string{DefaultConnection, "Staff"}, Rate: 1, Burst: 1000})
	c := httpClient(tn, 5*time.Second)
	day := func(s string) time.Time { at, _ := time.Parse(time.RFC3339Nano, s); return at }
	tn.AddUser(UserSeed{ID: "auth0|ada", Email: "ada@example.com", Name: "Ada Lovelace",
		CreatedAt: day("2026-11-01T10:00:00Z"), LastLogin: day("2026-12-02T08:00:00Z"), LoginsCount: 3,
		AppMetadata: map[string]any{
			"mailproof": map[string]any{"provisioned_at": "2026-11-01T10:00:00Z", "batch": "Nov"},
			"plan":      "gold", "tags": []any{"a", "b"}, "score": 7.0, "empty": map[string]any{},
		}})
	tn.AddUser(UserSeed{ID: "auth0|grace", Email: "grace@example.org", Name: "Grace Hopper", EmailVerified: true,
		Connection: "Staff", CreatedAt: day("2026-12-01T00:00:00Z"), AppMetadata: map[string]any{"plan": "Gold"}})
	tn.AddUser(UserSeed{ID: "auth0|alan", Email: "alan@example.com", Name: "Alan Turing",
		CreatedAt: day("2026-12-15T12:00:00Z"), LastLogin: day("2026-11-30T23:59:59.999Z"), LoginsCount: 1,
		LastPasswordReset: day("2026-11-30T23:00:00Z")})
	return tn, c, token(t, tn, c)
}

func TestSearchQuerySubset(t *testing.T) {
	tn, c, tok := queryTenant(t)
	none := []string{}
	tests := []struct {
		name string
		q    string
		want []string // user ids in created_at order
	}{
		{"term", "email:ada@example.com", []string{"auth0|ada"}},
		{"email ignores case", "email:ADA@Example.COM", []string{"auth0|ada"}},
		{"quoted email", `email:"ada@example.com"`, []string{"auth0|ada"}},
		{"email is matched whole", "email:ada", none},
		{"email domain", "email.domain:example.org", []string{"auth0|grace"}},
		{"email domain is case-sensitive", "email.domain:Example.org", none},
		{"name by word, any case", "name:LOVELACE", []string{"auth0|ada"}},
		{"name phrase", `name:"ada lovelace"`, []string{"auth0|ada"}},
		{"name phrase in another order", `name:"lovelace ada"`, none},
		{"escaped space", `name:Ada\ Lovelace`, []string{"auth0|ada"}},
		{"user_id whole", "user_id:auth0|grace", []string{"auth0|grace"}},
		{"user_id is case-sensitive", "user_id:AUTH0|grace", none},
		{"user_id is not split at the bar", "user_id:auth0", none},
		{"user_id prefix", "user_id:auth0*", []string{"auth0|ada", "auth0|grace", "auth0|alan"}},
		{"connection", "identities.connection:Staff", []string{"auth0|grace"}},
		{"connection is case-sensitive", "identities.connection:staff", none},
		{"boolean false", "email_verified:false", []string{"auth0|ada", "auth0|alan"}},
		{"boolean true", "email_verified:true", []string{"auth0|grace"}},
		{"number", "logins_count:3", []string{"auth0|ada"}},
		{"no logins: the field is absent", "logins_count:0", none},
		{"number range", "logins_count:[1 TO *]", []string{"auth0|ada", "auth0|alan"}},
		{"number range, exclusive", "logins_count:{1 TO *]", []string{"auth0|ada"}},
		{"logins since", "last_login:[2026-12-01T00:00:00.000Z TO *]", []string{"auth0|ada"}},
		{"logins before, exclusive", "last_login:[* TO 2026-12-01T00:00:00.000Z}", []string{"auth0|alan"}},
		{"inclusive lower date", "created_at:[2026-12-01T00:00:00.000Z TO *]", []string{"auth0|grace", "auth0|alan"}},
		{"exclusive lower date", "created_at:{2026-12-01T00:00:00.000Z TO *]", []string{"auth0|alan"}},
		{"quoted date bounds", `created_at:["2026-12-01T00:00:00.000Z" TO "2026-12-15T12:00:00.000Z"}`, []string{"auth0|grace"}},
		{"a month is the whole month", "created_at:[2026-12 TO 2026-12]", []string{"auth0|grace", "auth0|alan"}},
		{"after a month", "created_at:{2026-11 TO *]", []string{"auth0|grace", "auth0|alan"}},
		{"before a day, exclusive", "created_at:[* TO 2026-12-01}", []string{"auth0|ada"}},
		{"a day as a term", "created_at:2026-11-01", []string{"auth0|ada"}},
		{"escaped colons in a timestamp term", `last_login:2026-12-02T08\:00\:00.000Z`, []string{"auth0|ada"}},
		{"exists", "_exists_:last_login", []string{"auth0|ada", "auth0|alan"}},
		{"not exists", "NOT _exists_:last_login", []string{"auth0|grace"}},
		{"field star is exists", "last_login:*", []string{"auth0|ada", "auth0|alan"}},
		{"exists on a metadata object", "_exists_:app_metadata.mailproof", []string{"auth0|ada"}},
		{"an empty object is not indexed", "_exists_:app_metadata.empty", none},
		{"last_password_reset is not searchable", "_exists_:last_password_reset", none},
		{"nor by range", "last_password_reset:[* TO *]", none},
		{"metadata is case-sensitive", "app_metadata.plan:gold", []string{"auth0|ada"}},
		{"metadata other case", "app_metadata.plan:Gold", []string{"auth0|grace"}},
		{"metadata path is case-sensitive", "app_metadata.Plan:gold", none},
		{"nested metadata", "app_metadata.mailproof.batch:Nov", []string{"auth0|ada"}},
		{"metadata array element", "app_metadata.tags:b", []string{"auth0|ada"}},
		{"metadata number", "app_metadata.score:7", []string{"auth0|ada"}},
		{"metadata number range", "app_metadata.score:[5 TO 10]", []string{"auth0|ada"}},
		{"AND", "email_verified:false AND _exists_:app_metadata.mailproof", []string{"auth0|ada"}},
		{"OR", "name:hopper OR name:turing", []string{"auth0|grace", "auth0|alan"}},
		{"parentheses", "(email_verified:true OR logins_count:1) AND NOT name:hopper", []string{"auth0|alan"}},
		{"NOT alone", "NOT email_verified:false", []string{"auth0|grace"}},
		{"field group", "name:(ada OR alan)", []string{"auth0|ada", "auth0|alan"}},
		{"prefix wildcard", "name:gra*", []string{"auth0|grace"}},
		{"suffix wildcard, three letters", "email:*example.org", []string{"auth0|grace"}},
		{"no field: the normalized fields", "lovelace", []string{"auth0|ada"}},
		{"no field never matches metadata", "Nov", none},
		{"unknown field", "nosuchfield:x", none},
	}
	for _, tc := range tests {
		resp := searchUsers(t, tn, c, tok, tc.q, nil)
		if resp.status != http.StatusOK {
			t.Errorf("%s: %s: status %d (%s), want 200", tc.name, tc.q, resp.status, resp.body)
			continue
		}
		if got := ids(t, resp); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %s: got %v, want %v", tc.name, tc.q, got, tc.want)
		}
	}
}

func TestSearchQueryErrors(t *testing.T) {
	tn, c, tok := queryTenant(t)
	tests := []struct {
		name, q, want string // want: a substring of the message
	}{
		{"dangling operator", "email_verified:true AND", "ends after an operator"},
		{"unclosed group", "(email_verified:true", "missing closing parenthesis"},
		{"stray parenthesis", "email_verified:true)", "unexpected"},
		{"AND and OR mixed", "email_verified:true OR logins_count:1 AND name:ada", "AND and OR mixed"},
		{"no operator", "email_verified:true logins_count:1", "missing AND or OR"},
		{"lower-case operator", "email_verified:true and logins_count:1", "missing AND or OR"},
		{"prefix minus", "-email_verified:true", "use NOT"},
		{"unescaped colon in a value", "last_login:2026-12-01T00:00:00.000Z", "unescaped ':'"},
		{"unterminated phrase", `name:"ada`, "unterminated phrase"},
		{"range without TO", "logins_count:[1 3]", "TO"},
		{"range not closed", "logins_count:[1 TO 3", "not closed"},
		{"range without bound", "logins_count:[1 TO ]", "missing range bound"},
		{"not a boolean", "email_verified:no", "boolean"},
		{"not a number", "logins_count:[a TO 3]", "not a number"},
		{"not a date", "created_at:[yesterday TO *]", "not a date"},
		{"question mark", "name:gr?ce", "unescaped '?'"},
		{"short leading wildcard", "email:*rg", "at least 3"},
		{"wildcard on user_metadata", "user_metadata.city:Par*", "user_metadata"},
		{"range on user_metadata", "user_metadata.age:[1 TO 9]", "user_metadata"},
		{"range on a boolean", "email_verified:[false TO true]", "boolean"},
		{"fuzzy", "name:ada~", "unescaped '~'"},
		{"regular expression", "name:/ad.*/", "unescaped '/'"},
		{"_exists_ without a field", "_exists_:(a)", "_exists_"},
	}
	for _, tc := range tests {
		resp := searchUsers(t, tn, c, tok, tc.q, nil)
		if resp.status != http.StatusBadRequest {
			t.Errorf("%s: %s: status %d (%s), want 400", tc.name, tc.q, resp.status, resp.body)
			continue
		}
		got := resp.json(t)
		msg, _ := got["message"].(string)
		if got["statusCode"] != 400.0 || got["error"] != "Bad Request" || got["errorCode"] != "invalid_query_string" ||
			!strings.HasPrefix(msg, "Query validation error: ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %s: body %s, want Bad Request, invalid_query_string, message containing %q", tc.name, tc.q, resp.body, tc.want)
		}
	}
}
