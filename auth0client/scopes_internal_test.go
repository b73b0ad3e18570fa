package auth0client

import (
	"slices"
	"testing"
	"time"
)

// TestInsufficientScope reads the scopes out of the Management API's 403 messages as
// go-auth0 reports them ("STATUS Error: message"), in the wordings Auth0's reference and
// tenants use.
func TestInsufficientScope(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		message string
		want    []string
		wantOK  bool
	}{
		{"one scope", 403, "403 Forbidden: Insufficient scope, expected any of: update:users",
			[]string{"update:users"}, true},
		{"several, commas only", 403, "403 Forbidden: Insufficient scope, expected any of: update:users,update:users_app_metadata,update:current_user_metadata",
			[]string{"update:users", "update:users_app_metadata", "update:current_user_metadata"}, true},
		{"semicolon, spaces and a full stop", 403, "403 Forbidden: Insufficient scope; expected any of: read:users, read:user_idp_tokens, read:current_user.",
			[]string{"read:users", "read:user_idp_tokens", "read:current_user"}, true},
		{"expected without any of", 403, "403 Forbidden: Insufficient scope, expected: read:actions.",
			[]string{"read:actions"}, true},
		{"a repeated scope once", 403, "403 Forbidden: Insufficient scope, expected any of: read:users,read:users",
			[]string{"read:users"}, true},
		{"no list", 403, "403 Forbidden: Insufficient scope", nil, true},
		{"another 403", 403, "403 Forbidden: User to be acted on does not match subject in bearer token.", nil, false},
		{"plain 403", 403, "403 Forbidden: Forbidden", nil, false},
		{"not a 403", 401, "401 Unauthorized: Insufficient scope, expected any of: read:users", nil, false},
	}
	for _, tc := range tests {
		got, ok := insufficientScope(tc.status, tc.message)
		if ok != tc.wantOK || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

// TestScopeErrorGrant: of Auth0's "any of" list, the scope to grant is the one mailproof
// asks for in its installation guide.
func TestScopeErrorGrant(t *testing.T) {
	tests := []struct {
		name     string
		expected []string
		want     []string
	}{
		{"ours first", []string{"update:users", "update:users_app_metadata"}, []string{"update:users"}},
		{"ours later", []string{"read:user_idp_tokens", "read:current_user", "read:users"}, []string{"read:users"}},
		{"none of ours", []string{"delete:users", "delete:current_user"}, []string{"delete:users"}},
		{"none named", nil, nil},
	}
	for _, tc := range tests {
		if got := newScopeError(tc.expected).Missing; !slices.Equal(got, tc.want) {
			t.Errorf("%s: missing %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestScopeRenewalPacing: the first scope error renews at once, then after 1, 2, 4, …
// minutes up to an hour; a quiet spell starts over.
func TestScopeRenewalPacing(t *testing.T) {
	var s scopeRenewal
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{30 * time.Second, false},
		{time.Minute, true},
		{2 * time.Minute, false},
		{3 * time.Minute, true},
		{6 * time.Minute, false},
		{7 * time.Minute, true},
	}
	for _, st := range steps {
		if got := s.due(t0.Add(st.at)); got != st.want {
			t.Errorf("scope error at +%s: renew %v, want %v", st.at, got, st.want)
		}
	}
	for range 10 { // errors all along, each renewal as soon as allowed
		s.due(s.next)
	}
	if s.gap != time.Hour {
		t.Errorf("gap %s after a long episode, want the 1h cap", s.gap)
	}
	late := s.next.Add(2 * time.Hour) // no scope error for longer than the gap
	if !s.due(late) || s.due(late.Add(30*time.Second)) || !s.due(late.Add(time.Minute)) {
		t.Errorf("after a quiet spell: want a renewal at once, then none for a minute")
	}
}

func TestJWTScopes(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		want   []string
		wantOK bool
	}{
		// {"scope":"read:users update:users"}
		{"scopes", "e30.eyJzY29wZSI6InJlYWQ6dXNlcnMgdXBkYXRlOnVzZXJzIn0.sig", []string{"read:users", "update:users"}, true},
		// {"scope":""}
		{"empty scope", "e30.eyJzY29wZSI6IiJ9.sig", nil, true},
		// {"sub":"x"}
		{"no scope claim", "e30.eyJzdWIiOiJ4In0.sig", nil, false},
		{"opaque token", "0123456789abcdef", nil, false},
		{"bad base64", "e30.!!!.sig", nil, false},
	}
	for _, tc := range tests {
		got, ok := jwtScopes(tc.token)
		if ok != tc.wantOK || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}
