package event

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserIDLen bounds a user id. Auth0's are far shorter; mailproof builds Redis keys
// and log fields from ids, so an outsider must not choose their size.
const MaxUserIDLen = 256

// CheckUserID reports why id cannot be an Auth0 user id, or nil. It is the one check of
// ids that come from outside, the event's data.user.user_id and the admin API's, so an
// id the admin API registers is one an event can carry. The error is a predicate for a
// field name: "user_id " + err.Error() reads as a sentence.
func CheckUserID(id string) error {
	switch {
	case id == "":
		return errors.New("must not be empty")
	case len(id) > MaxUserIDLen:
		return errors.New("must be at most " + strconv.Itoa(MaxUserIDLen) + " bytes")
	case !utf8.ValidString(id):
		return errors.New("must be valid UTF-8")
	case hasControl(id):
		// Control and invisible formatting characters (bidirectional overrides,
		// zero-width spaces) could disguise one id as another in a log line.
		return errors.New("must not contain control characters")
	case !strings.Contains(id, "|"):
		return errors.New(`must be an Auth0 user id of the form "provider|id", such as "auth0|…"`)
	}
	return nil
}

// hasControl reports control characters and invisible formatting characters (Cf).
func hasControl(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return true
		case c >= utf8.RuneSelf:
			return strings.IndexFunc(s[i:], func(r rune) bool {
				return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
			}) >= 0
		}
	}
	return false
}
