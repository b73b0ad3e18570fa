package auth0client

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestMaskEmails(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "ada@example.com", "a***@example.com"},
		{"auth0 validation message",
			"Payload validation error: 'Object didn't pass validation for format email: bad@example.com' on property email (The user's email).",
			"Payload validation error: 'Object didn't pass validation for format email: b***@example.com' on property email (The user's email)."},
		{"end of sentence", "Sent to ada.l@example.co.uk.", "Sent to a***@example.co.uk."},
		{"two addresses", "ada@example.com and grace@example.org", "a***@example.com and g***@example.org"},
		{"multibyte first letter", "élodie@example.fr", "é***@example.fr"},
		{"Kelvin sign first", "no user \u212Aate@example.com.", "no user \u212A***@example.com."},
		{"four-byte first letter", "\U0001F600x@example.com", "\U0001F600***@example.com"},
		{"invalid UTF-8 first byte", "to \xffate@example.com", "to \ufffd***@example.com"},
		{"no address", "The user already exists.", "The user already exists."},
	}
	for _, tc := range tests {
		if got := maskEmails(tc.in); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for i := range 2000 {
		// Short names and local parts, which a random password could
		// easily contain, are avoided ignoring case.
		avoid := []string{string(passwordAlphabet[i%len(passwordAlphabet)]), "ab"}
		p := randomPassword(avoid...)
		if seen[p] {
			t.Fatalf("password repeated: %q", p)
		}
		seen[p] = true
		var lower, upper, digit, other bool
		for _, r := range p {
			lower = lower || unicode.IsLower(r)
			upper = upper || unicode.IsUpper(r)
			digit = digit || unicode.IsDigit(r)
			other = other || !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}
		if len(p) != 72 || !lower || !upper || !digit || !other {
			t.Fatalf("password %q misses a class or is not 72 characters", p)
		}
		for i := 2; i < len(p); i++ {
			if p[i] == p[i-1] && p[i] == p[i-2] {
				t.Fatalf("password %q has three identical characters in a row", p)
			}
		}
		lp := strings.ToLower(p)
		for _, a := range avoid {
			if strings.Contains(lp, strings.ToLower(a)) {
				t.Fatalf("password %q contains %q", p, a)
			}
		}
	}
}

func TestRateLimitedHeader(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   time.Time
	}{
		{"unix seconds", "1795601704", time.Unix(1795601704, 0)},
		{"missing", "", time.Time{}},
		{"garbage", "soon", time.Time{}},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.header != "" {
			h.Set("X-Ratelimit-Reset", tc.header)
		}
		before := time.Now()
		got := rateLimited(h).Reset
		if !tc.want.IsZero() && !got.Equal(tc.want) {
			t.Errorf("%s: reset %v, want %v", tc.name, got, tc.want)
		}
		if tc.want.IsZero() && (got.Before(before.Truncate(time.Second)) || got.After(before.Add(2*time.Second))) {
			t.Errorf("%s: reset %v, want about a second after %v", tc.name, got, before)
		}
		if !strings.Contains(rateLimited(h).Error(), "rate limited until") {
			t.Errorf("%s: message %q", tc.name, rateLimited(h).Error())
		}
	}
}
