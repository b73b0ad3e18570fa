package auth0test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListConnections(t *testing.T) {
	tn := NewT(t, Config{Connections: []string{DefaultConnection, "Staff"}, Scopes: allScopes(), ConnectionOptions: map[string]ConnectionOptions{
		"Staff": {PasswordPolicy: PolicyExcellent, MinLength: 12, PasswordHistory: 3, PasswordDictionary: true,
			DictionaryEntries: []string{"acme2026"}, NoPersonalInfo: true, RequiresUsername: true, UsernameMax: 30}}})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	staffID, ok := tn.ConnectionID("Staff")
	if !ok || !strings.HasPrefix(staffID, "con_") || len(staffID) != len("con_")+16 {
		t.Fatalf("ConnectionID(Staff) = %q, %v, want con_ and 16 letters or digits", staffID, ok)
	}

	// What go-auth0's ReadByName sends.
	resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/connections?include_totals=true&name=Staff&per_page=50", tok, nil)
	got := resp.json(t)
	conns, _ := got["connections"].([]any)
	if resp.status != http.StatusOK || got["total"] != 1.0 || got["start"] != 0.0 || got["limit"] != 50.0 || len(conns) != 1 {
		t.Fatalf("by name: status %d, body %s, want 200, total 1, start 0, limit 50, one connection", resp.status, resp.body)
	}
	conn, _ := conns[0].(map[string]any)
	if conn["id"] != staffID || conn["name"] != "Staff" || conn["strategy"] != "auth0" {
		t.Errorf("by name: %v, want id %s, name Staff, strategy auth0", conn, staffID)
	}
	// The options as the recorded tenant's legacy connection shows them.
	opts, _ := json.Marshal(conn["options"])
	for _, want := range []string{`"passwordPolicy":"excellent"`, `"password_complexity_options":{"min_length":12}`,
		`"password_history":{"enable":true,"size":3}`, `"password_dictionary":{"dictionary":["acme2026"],"enable":true}`,
		`"password_no_personal_info":{"enable":true}`, `"requires_username":true`, `"validation":{"username":{"max":30,"min":1}}`} {
		if !strings.Contains(string(opts), want) {
			t.Errorf("Staff options %s lack %s", opts, want)
		}
	}
	resp = call(t, c, http.MethodGet, tn.URL()+"/api/v2/connections?name="+DefaultConnection, tok, nil)
	if got := string(resp.body); !strings.Contains(got, `"passwordPolicy":"none"`) || strings.Contains(got, "password_complexity_options") ||
		!strings.Contains(got, `"requires_username":false`) {
		t.Errorf("default connection: %s, want policy none, no min length, no username", got)
	}

	tests := []struct {
		name, query string
		wantStatus  int
		wantLen     int
	}{
		{"all, bare array", "", 200, 2},
		{"unknown name", "name=Nope", 200, 0},
		{"other strategy", "strategy=google-oauth2", 200, 0},
		{"fields", "fields=id,name", 200, 2},
		{"unknown parameter", "q=x", 400, 0},
	}
	for _, tc := range tests {
		resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/connections?"+tc.query, tok, nil)
		if resp.status != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.status, resp.body, tc.wantStatus)
			continue
		}
		if tc.wantStatus == http.StatusOK {
			if got := resp.array(t); len(got) != tc.wantLen {
				t.Errorf("%s: %d connections, want %d", tc.name, len(got), tc.wantLen)
			}
		}
	}
}
