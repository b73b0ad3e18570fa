package event

import "testing"

func TestCheckUserID(t *testing.T) {
	tests := []struct {
		name, id string
		ok       bool
	}{
		{"database user", "auth0|6560c1f2e4b0a1b2c3d4e5f6", true},
		{"social user", "google-oauth2|104355757", true},
		{"key syntax is fine: ids are encoded in keys", "auth0|x}:{mp}:jobs", true},
		{"256 bytes", "auth0|" + string(make256(250)), true},
		{"257 bytes", "auth0|" + string(make256(251)), false},
		{"empty", "", false},
		{"no provider", "6560c1f2e4b0a1b2c3d4e5f6", false},
		{"newline", "auth0|a\nb", false},
		{"DEL", "auth0|a\x7fb", false},
		{"C1 control", "auth0|a\u0085b", false},
		{"zero-width space", "auth0|a\u200bb", false},
		{"bidi override", "auth0|a\u202eb", false},
		{"byte order mark", "\ufeffauth0|a", false},
		{"invalid UTF-8", "auth0|a\xffb", false},
	}
	for _, tc := range tests {
		if err := CheckUserID(tc.id); (err == nil) != tc.ok {
			t.Errorf("%s: CheckUserID(%q) = %v, want ok %v", tc.name, tc.id, err, tc.ok)
		}
	}
}

func make256(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return b
}
