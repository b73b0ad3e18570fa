package event_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailproof/mailproof/event"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"already normal", "kate@example.com", "kate@example.com"},
		{"empty", "", ""},
		{"only ASCII whitespace", " \t\n\v\f\r", ""},
		{"mixed-case ASCII", "Kate@Example.COM", "kate@example.com"},
		{"every ASCII whitespace byte trimmed", " \t\n\v\f\rKate@example.com\r\f\v\n\t ", "kate@example.com"},
		{"inner space kept", "kate @example.com", "kate @example.com"},
		{"plus tag lower-cased, kept", "Kate+News@Example.com", "kate+news@example.com"},
		{"trailing dot on the domain kept", "kate@example.com.", "kate@example.com."},
		{"Kelvin sign not folded", "\u212Aate@example.com", "\u212Aate@example.com"},
		{"Kelvin sign beside ASCII capitals", "\u212AATE@EXAMPLE.COM", "\u212Aate@example.com"},
		{"long s not folded", "\u017Fam@example.com", "\u017Fam@example.com"},
		{"dotted capital I not folded", "\u0130lk@example.com", "\u0130lk@example.com"},
		{"trailing no-break space kept", "kate@example.com\u00a0", "kate@example.com\u00a0"},
		{"leading no-break space kept", "\u00a0kate@example.com", "\u00a0kate@example.com"},
		{"next line U+0085 kept", "kate@example.com\u0085", "kate@example.com\u0085"},
		{"em space kept", "\u2003kate@example.com", "\u2003kate@example.com"},
		{"ideographic space kept", "kate@example.com\u3000", "kate@example.com\u3000"},
		{"zero-width no-break space kept", "\ufeffkate@example.com", "\ufeffkate@example.com"},
		{"ASCII spaces trimmed around a Unicode space", " \u00a0kate@example.com\u3000 ", "\u00a0kate@example.com\u3000"},
		{"fullwidth capitals not folded", "\uff2b\uff21\uff34\uff25@example.com", "\uff2b\uff21\uff34\uff25@example.com"},
		{"fullwidth small letters kept", "\uff4b\uff41\uff54\uff45@example.com", "\uff4b\uff41\uff54\uff45@example.com"},
		{"Cyrillic capital look-alike not folded", "\u041a\u0410\u0422\u0415@example.com", "\u041a\u0410\u0422\u0415@example.com"},
		{"Cyrillic small look-alike kept", "k\u0430te@example.com", "k\u0430te@example.com"},
		{"composed accent kept", "\u00e9lodie@example.fr", "\u00e9lodie@example.fr"},
		{"decomposed accent kept", "e\u0301lodie@example.fr", "e\u0301lodie@example.fr"},
		{"only the ASCII letters of an accented capital word", "\u00c9LODIE@Example.fr", "\u00c9lodie@example.fr"},
		{"invalid UTF-8 kept byte for byte", "\xffKate@example.com\xc3", "\xffkate@example.com\xc3"},
	}
	for _, tc := range tests {
		if got := event.NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("%s: NormalizeEmail(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestSameEmail is the policy's question: would a login with the event's address prove
// the mailbox provisioned as kate@example.com (or the row's other address)?
func TestSameEmail(t *testing.T) {
	const kate = "kate@example.com"
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", kate, kate, true},
		{"ASCII case", "KATE@Example.Com", kate, true},
		{"ASCII whitespace around", " \tkate@example.com\r\n", kate, true},
		{"plus tag in another case", "Kate+News@example.com", "kate+news@EXAMPLE.com", true},
		{"both empty", "", " ", true},
		{"Kelvin sign", "\u212Aate@example.com", kate, false},
		{"Kelvin sign against a capital K", "\u212Aate@example.com", "Kate@example.com", false},
		{"long s against s", "\u017Fam@example.com", "sam@example.com", false},
		{"trailing no-break space", "kate@example.com\u00a0", kate, false},
		{"leading no-break space", "\u00a0kate@example.com", kate, false},
		{"leading em space", "\u2003kate@example.com", kate, false},
		{"trailing ideographic space", "kate@example.com\u3000", kate, false},
		{"leading zero-width no-break space", "\ufeffkate@example.com", kate, false},
		{"fullwidth letters", "\uff4b\uff41\uff54\uff45@example.com", kate, false},
		{"fullwidth capitals", "\uff2b\uff21\uff34\uff25@example.com", kate, false},
		{"Cyrillic a", "k\u0430te@example.com", kate, false},
		{"Cyrillic capital KA", "\u041aate@example.com", "Kate@example.com", false},
		{"composed against decomposed accent", "\u00e9lodie@example.fr", "e\u0301lodie@example.fr", false},
		{"accented capital against small", "\u00c9lodie@example.fr", "\u00e9lodie@example.fr", false},
		{"trailing dot on the domain", "kate@example.com.", kate, false},
		{"plus tag against none", "kate+news@example.com", kate, false},
		{"inner space", "kate @example.com", kate, false},
		{"prefix", "kate@example.co", kate, false},
		{"empty against an address", "", kate, false},
	}
	for _, tc := range tests {
		if got := event.SameEmail(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: SameEmail(%q, %q) = %v, want %v", tc.name, tc.a, tc.b, got, tc.want)
		}
		if got := event.SameEmail(tc.b, tc.a); got != tc.want {
			t.Errorf("%s: SameEmail(%q, %q) = %v, want %v (not symmetric)", tc.name, tc.b, tc.a, got, tc.want)
		}
		if got := event.NormalizeEmail(tc.a) == event.NormalizeEmail(tc.b); got != tc.want {
			t.Errorf("%s: NormalizeEmail forms equal %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ASCII", "ada@example.com", "a***@example.com"},
		{"one-letter local part", "a@example.com", "a***@example.com"},
		{"two-byte first letter", "\u00e9lodie@example.fr", "\u00e9***@example.fr"},
		{"three-byte first letter", "\u212Aate@example.com", "\u212A***@example.com"},
		{"four-byte first letter", "\U0001F600x@example.com", "\U0001F600***@example.com"},
		{"only a multi-byte letter", "\u00e9@example.fr", "\u00e9***@example.fr"},
		{"decomposed accent hidden with the rest", "e\u0301lodie@example.fr", "e***@example.fr"},
		{"Unicode domain kept", "kate@b\u00fccher.example", "k***@b\u00fccher.example"},
		{"quoted local part holding an @", `"a@b"@example.com`, `"***@example.com`},
		{"no @", "kate.example.com", "***"},
		{"@ first", "@example.com", "***@example.com"},
		{"only @", "@", "***@"},
		{"empty", "", "***"},
		{"invalid first byte", "\xffkate@example.com", "\ufffd***@example.com"},
		{"truncated two-byte first letter", "\xc3@example.com", "\ufffd***@example.com"},
		{"invalid byte in the domain", "kate@exa\xffmple.com", "k***@exa\ufffdmple.com"},
	}
	for _, tc := range tests {
		got := event.MaskEmail(tc.in)
		if got != tc.want {
			t.Errorf("%s: MaskEmail(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: MaskEmail(%q) = %q, not valid UTF-8", tc.name, tc.in, got)
		}
	}
}

// isASCIISpace is the trimmed set, spelled out independently of the implementation.
func isASCIISpace(c byte) bool { return strings.IndexByte(" \t\n\v\f\r", c) >= 0 }

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"", " ", "kate@example.com", " Kate@Example.COM\t", "\u212Aate@example.com",
		"kate@example.com\u00a0", "\u2003\u3000\ufeff", "\uff2b@example.com", "\u041aate@example.com",
		"e\u0301@example.fr", "kate+tag@example.com.", "\xff\xc3@", "@", "a@b@c", "\v\fX\r", "ab@ab.com", "@e@e", "a*@x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := event.NormalizeEmail(s)

		if again := event.NormalizeEmail(got); again != got {
			t.Fatalf("not idempotent: NormalizeEmail(%q) = %q, then %q", s, got, again)
		}

		lead := 0
		for lead < len(s) && isASCIISpace(s[lead]) {
			lead++
		}
		trail := 0
		for trail < len(s)-lead && isASCIISpace(s[len(s)-1-trail]) {
			trail++
		}
		if len(got) != len(s)-lead-trail {
			t.Fatalf("NormalizeEmail(%q) = %q: length %d, want %d (%d leading and %d trailing ASCII spaces)",
				s, got, len(got), len(s)-lead-trail, lead, trail)
		}
		for i := range len(got) {
			in, out := s[lead+i], got[i]
			if out != in && !('A' <= in && in <= 'Z' && out == in+'a'-'A') {
				t.Fatalf("NormalizeEmail(%q) = %q: byte %d is %#x, want %#x or its ASCII lower case", s, got, i, out, in)
			}
			if 'A' <= out && out <= 'Z' {
				t.Fatalf("NormalizeEmail(%q) = %q: ASCII capital left at byte %d", s, got, i)
			}
		}
		if utf8.ValidString(got) != utf8.ValidString(s) {
			t.Fatalf("NormalizeEmail(%q) = %q changed UTF-8 validity", s, got)
		}
		if !event.SameEmail(s, got) || !event.SameEmail(got, s) {
			t.Fatalf("SameEmail(%q, NormalizeEmail = %q) is false", s, got)
		}

		masked := event.MaskEmail(s)
		if !utf8.ValidString(masked) {
			t.Fatalf("MaskEmail(%q) = %q, not valid UTF-8", s, masked)
		}
		at := strings.LastIndexByte(s, '@')
		if at < 0 {
			if masked != "***" {
				t.Fatalf("MaskEmail(%q) = %q, want *** for text without @", s, masked)
			}
			return
		}
		// The domain is shown and may spell the local part ("ab@ab.com"), so the
		// check is on what stands for the local part: everything before the last '@'.
		local, maskedLocal := s[:at], masked[:strings.LastIndexByte(masked, '@')]
		shown, ok := strings.CutSuffix(maskedLocal, "***")
		if !ok || utf8.RuneCountInString(shown) > 1 {
			t.Fatalf("MaskEmail(%q) = %q shows more than one character of the local part", s, masked)
		}
		// A local part of the first letter and asterisks is spelled by the mask itself.
		_, first := utf8.DecodeRuneInString(local)
		if utf8.RuneCountInString(local) > 1 && strings.Trim(local[first:], "*") != "" &&
			strings.Contains(maskedLocal, local) {
			t.Fatalf("MaskEmail(%q) = %q shows the local part %q", s, masked, local)
		}
	})
}

func FuzzSameEmail(f *testing.F) {
	f.Add("kate@example.com", "KATE@example.com ")
	f.Add("\u212Aate@example.com", "kate@example.com")
	f.Add("kate@example.com\u00a0", "kate@example.com")
	f.Fuzz(func(t *testing.T, a, b string) {
		want := event.NormalizeEmail(a) == event.NormalizeEmail(b)
		if got := event.SameEmail(a, b); got != want {
			t.Fatalf("SameEmail(%q, %q) = %v, want %v (the normalized forms' equality)", a, b, got, want)
		}
	})
}
