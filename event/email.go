package event

import (
	"strings"
	"unicode/utf8"
)

// NormalizeEmail returns the one form in which mailproof compares and stores an email
// address: leading and trailing ASCII whitespace removed (space, \t, \n, \v, \f, \r) and
// the ASCII letters A-Z lower-cased. Every other byte is kept exactly, valid UTF-8 or not.
//
// Nothing wider is safe. RFC 5321 leaves the local part to the receiving mail server and
// Auth0 treats it as opaque, so two addresses that differ in any character may be two
// mailboxes. Unicode case folding and Unicode space trimming merge such addresses: with
// strings.ToLower the Kelvin sign U+212A becomes "k", and strings.TrimSpace drops a
// trailing no-break space U+00A0, so a login as "\u212Aate@example.com" or
// "kate@example.com\u00a0" would prove the mailbox of kate@example.com and get her
// address marked verified. That is a security defect, not a convenience. ASCII case and
// stray ASCII whitespace are the only differences provisioning input and Auth0's stored
// email (which Auth0 lower-cases) routinely show for the same mailbox, and domains are
// case-insensitive in DNS. Internationalized domains are compared byte for byte too: a
// wrong email_changed closes a record an operator can register again, a wrong match
// verifies a mailbox nobody proved.
//
// The whitespace set is exactly the ASCII part of what strings.TrimSpace trims, so an
// all-ASCII address keeps the form records have always had.
func NormalizeEmail(s string) string {
	s = trimASCIISpace(s)
	for i := 0; i < len(s); i++ {
		if isUpperASCII(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s // already normal: no copy
}

// SameEmail reports whether a and b name the same mailbox for the policy, that is
// whether NormalizeEmail(a) == NormalizeEmail(b). It compares in place, so the rule that
// runs on every queued login allocates nothing, and it normalizes both sides, so the
// answer does not depend on whether a stored address was normalized when written.
func SameEmail(a, b string) bool {
	a, b = trimASCIISpace(a), trimASCIISpace(b)
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// MaskEmail returns an address as logs and error messages may show it: the first
// character of the local part, "***", then "@" and the domain ("ada@example.com" becomes
// "a***@example.com"), enough for a person to recognise it without the log holding it.
//
// The first character is a whole rune, never a byte: cutting a multi-byte letter in half
// printed "\ufffd***@example.com" and told the reader nothing. The domain follows the
// last '@', since a quoted local part may itself contain '@'. Without an '@' nothing of
// the input is shown ("***"), since the text may not be an address at all; an empty
// local part shows as "***@domain". Invalid UTF-8 is shown as U+FFFD, so the result is
// always valid UTF-8, and a combining accent after the first letter is hidden with the
// rest.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "***"
	}
	local, domain := s[:at], strings.ToValidUTF8(s[at+1:], string(utf8.RuneError))
	first := ""
	if local != "" {
		r, n := utf8.DecodeRuneInString(local)
		first = local[:n]
		if r == utf8.RuneError && n <= 1 {
			first = string(utf8.RuneError)
		}
	}
	return first + "***@" + domain
}

// isASCIISpace reports whether c is one of the bytes NormalizeEmail trims.
func isASCIISpace(c byte) bool {
	return c == ' ' || ('\t' <= c && c <= '\r') // \t \n \v \f \r
}

func trimASCIISpace(s string) string {
	for len(s) > 0 && isASCIISpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isASCIISpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isUpperASCII(c byte) bool { return 'A' <= c && c <= 'Z' }

func lowerASCII(c byte) byte {
	if isUpperASCII(c) {
		return c + 'a' - 'A'
	}
	return c
}
