package auth0test

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
)

// Errors FollowResetLink returns when the connection's password options
// refuse the new password. The link stays usable, as Auth0's form lets the
// person try another.
var (
	// ErrWeakPassword: the password fails the strength policy (or the
	// minimum length).
	ErrWeakPassword = errors.New("auth0test: password is too weak")
	// ErrCommonPassword: the password is in the dictionary.
	ErrCommonPassword = errors.New("auth0test: password is too common")
	// ErrPersonalPassword: the password contains the user's personal data.
	ErrPersonalPassword = errors.New("auth0test: password contains user information")
	// ErrReusedPassword: the password is one of the user's last ones.
	ErrReusedPassword = errors.New("auth0test: password has previously been used")
)

// passwordRule is one way a password can be refused: the error
// FollowResetLink returns, the Management API's message (name and text, as
// Auth0 answers it in a 400) and the reset page's wording.
type passwordRule struct {
	err     error
	message string
	page    string
}

var (
	ruleStrength   = passwordRule{ErrWeakPassword, "PasswordStrengthError: Password is too weak", "Password is too weak."}
	ruleDictionary = passwordRule{ErrCommonPassword, "PasswordDictionaryError: Password is too common", "Password is too common."}
	rulePersonal   = passwordRule{ErrPersonalPassword, "PasswordNoUserInfoError: Password contains user information", "Password is based on user information."}
	ruleHistory    = passwordRule{ErrReusedPassword, "PasswordHistoryError: Password has previously been used", "Password has previously been used."}
)

// policyMinLength is each policy's own minimum length.
var policyMinLength = map[string]int{PolicyNone: 1, PolicyLow: 6, PolicyFair: 8, PolicyGood: 8, PolicyExcellent: 10}

// commonPasswords stands in for Auth0's built-in dictionary of 10,000
// common passwords: enough to test that the option is on.
var commonPasswords = []string{
	"123456", "12345678", "123456789", "1234567890", "password", "password1", "password123",
	"passw0rd", "p@ssw0rd", "qwerty", "qwerty123", "abc123", "111111", "letmein", "welcome",
	"welcome1", "iloveyou", "admin", "admin123", "monkey", "dragon", "football", "baseball",
	"sunshine", "princess", "trustno1", "superman", "master", "shadow", "changeme",
}

// passwordClasses counts the character types password-sheriff (the library
// behind Auth0's policies) tests for: ASCII lower case, ASCII upper case,
// ASCII digits, and the OWASP special characters (space and ASCII
// punctuation). Other characters count for none of them.
func passwordClasses(p string) int {
	var lower, upper, digit, special bool
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		case c == ' ' || c < 128 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c):
			special = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, special} {
		if b {
			n++
		}
	}
	return n
}

// strongEnough applies the strength policy and the minimum length, as
// password-sheriff does: lengths count characters.
func (o ConnectionOptions) strongEnough(p string) bool {
	minLen := policyMinLength[o.PasswordPolicy]
	if o.MinLength > 0 {
		minLen = o.MinLength
	}
	if len([]rune(p)) < minLen {
		return false
	}
	switch o.PasswordPolicy {
	case PolicyFair:
		return strings.ContainsFunc(p, func(c rune) bool { return c >= 'a' && c <= 'z' }) &&
			strings.ContainsFunc(p, func(c rune) bool { return c >= 'A' && c <= 'Z' }) &&
			strings.ContainsFunc(p, func(c rune) bool { return c >= '0' && c <= '9' })
	case PolicyGood:
		return passwordClasses(p) >= 3
	case PolicyExcellent:
		return passwordClasses(p) >= 3 && !tripled(p)
	}
	return true
}

// tripled reports whether any character appears three times in a row.
func tripled(p string) bool {
	r := []rune(p)
	for i := 2; i < len(r); i++ {
		if r[i] == r[i-1] && r[i] == r[i-2] {
			return true
		}
	}
	return false
}

// personalData is what the no-personal-info option compares a password
// with: the user as it will be once the write succeeds.
type personalData struct {
	email, name, username, nickname string
	userMetadata                    map[string]any
}

func personal(u User) personalData {
	return personalData{email: u.Email, name: u.Name, username: u.Username, nickname: u.Nickname, userMetadata: u.UserMetadata}
}

// contained reports whether the password contains one of the user's
// values, ignoring case (Auth0 documents the fields; the case rule is the
// emulator's reading of its example).
func (d personalData) contained(p string) bool {
	local, _, _ := strings.Cut(d.email, "@")
	values := []string{local, d.name, d.username, d.nickname}
	for _, k := range []string{"name", "first", "last"} {
		if s, ok := d.userMetadata[k].(string); ok {
			values = append(values, s)
		}
	}
	lp := strings.ToLower(p)
	for _, v := range values {
		if v != "" && strings.Contains(lp, strings.ToLower(v)) {
			return true
		}
	}
	return false
}

// checkPassword applies the connection's password options to a new
// password: strength, then dictionary, then personal data, then history
// (the order is the emulator's). It returns the rule that refused it, or
// nil.
func (o ConnectionOptions) checkPassword(p string, who personalData, history [][32]byte) *passwordRule {
	switch {
	case !o.strongEnough(p):
		return &ruleStrength
	case o.PasswordDictionary && o.inDictionary(p):
		return &ruleDictionary
	case o.NoPersonalInfo && who.contained(p):
		return &rulePersonal
	case o.PasswordHistory > 0 && slices.Contains(history[max(0, len(history)-o.PasswordHistory):], hashPassword(p)):
		return &ruleHistory
	}
	return nil
}

func (o ConnectionOptions) inDictionary(p string) bool {
	for _, list := range [][]string{commonPasswords, o.DictionaryEntries} {
		for _, e := range list {
			if strings.EqualFold(p, e) {
				return true
			}
		}
	}
	return false
}

// hashPassword is how the tenant stores a password: like bcrypt, it reads
// only the first 72 bytes, so a longer password is silently truncated, as
// Auth0's legacy policies document.
func hashPassword(p string) [32]byte {
	if len(p) > maxPasswordBytes {
		p = p[:maxPasswordBytes]
	}
	return sha256.Sum256([]byte(p))
}
