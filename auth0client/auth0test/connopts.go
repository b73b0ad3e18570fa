package auth0test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The password strength policies of a database connection, named as in its
// options.passwordPolicy.
const (
	PolicyNone      = "none"
	PolicyLow       = "low"
	PolicyFair      = "fair"
	PolicyGood      = "good"
	PolicyExcellent = "excellent"
)

// Auth0's documented bounds for the settings below.
const (
	maxPasswordBytes   = 72 // bcrypt: the longest min_length, and where Auth0 truncates
	maxHistorySize     = 24
	defaultHistorySize = 5 // what the recorded tenant's password_history holds when off
	maxDictionary      = 200
	maxDictionaryEntry = 50
	defaultUsernameMin = 1
	defaultUsernameMax = 15
	maxUsernameLength  = 128
)

// ConnectionOptions are the password and username settings of one database
// connection, the legacy options Auth0 keeps in the connection's options
// object (the field comments name them). The zero value is a connection as
// Auth0 documents a new one: policy "none", no other password rule, no
// username.
type ConnectionOptions struct {
	// PasswordPolicy is one of the Policy constants; empty means PolicyNone.
	PasswordPolicy string
	// MinLength (password_complexity_options.min_length, 1 to 72) replaces
	// the policy's own minimum length when set; 0 keeps the policy's.
	MinLength int
	// PasswordHistory (password_history.size, 1 to 24) refuses a new
	// password equal to any of the user's last PasswordHistory passwords,
	// the current one included; 0 turns the check off.
	PasswordHistory int
	// PasswordDictionary (password_dictionary.enable) refuses a password
	// equal, ignoring case, to an entry of a small built-in list of common
	// passwords or of DictionaryEntries (password_dictionary.dictionary, at
	// most 200 of at most 50 characters).
	PasswordDictionary bool
	DictionaryEntries  []string
	// NoPersonalInfo (password_no_personal_info.enable) refuses a password
	// containing the user's name, username, nickname, user_metadata.name,
	// .first or .last, or the part of the email before the @.
	NoPersonalInfo bool
	// RequiresUsername (requires_username): users are created with a
	// username and may log in with it.
	RequiresUsername bool
	// UsernameMin and UsernameMax (validation.username.min and .max) bound
	// a username's length; 0 means Auth0's defaults, 1 and 15. At most 128.
	UsernameMin, UsernameMax int
}

// withDefaults fills the zero fields with Auth0's defaults.
func (o ConnectionOptions) withDefaults() ConnectionOptions {
	if o.PasswordPolicy == "" {
		o.PasswordPolicy = PolicyNone
	}
	if o.UsernameMin == 0 {
		o.UsernameMin = defaultUsernameMin
	}
	if o.UsernameMax == 0 {
		o.UsernameMax = defaultUsernameMax
	}
	return o
}

// validate reports every setting Auth0 would refuse, at once.
func (o ConnectionOptions) validate() error {
	var errs []error
	if !slices.Contains([]string{PolicyNone, PolicyLow, PolicyFair, PolicyGood, PolicyExcellent}, o.PasswordPolicy) {
		errs = append(errs, fmt.Errorf("password policy %q: want none, low, fair, good or excellent", o.PasswordPolicy))
	}
	if o.MinLength < 0 || o.MinLength > maxPasswordBytes {
		errs = append(errs, fmt.Errorf("min length %d: want 1 to %d, or 0 for the policy's", o.MinLength, maxPasswordBytes))
	}
	if o.PasswordHistory < 0 || o.PasswordHistory > maxHistorySize {
		errs = append(errs, fmt.Errorf("password history %d: want 1 to %d, or 0 for none", o.PasswordHistory, maxHistorySize))
	}
	if len(o.DictionaryEntries) > maxDictionary {
		errs = append(errs, fmt.Errorf("%d dictionary entries: at most %d", len(o.DictionaryEntries), maxDictionary))
	}
	for _, e := range o.DictionaryEntries {
		if e == "" || len([]rune(e)) > maxDictionaryEntry {
			errs = append(errs, fmt.Errorf("dictionary entry %q: want 1 to %d characters", e, maxDictionaryEntry))
		}
	}
	if o.UsernameMin < 1 || o.UsernameMax > maxUsernameLength || o.UsernameMin > o.UsernameMax {
		errs = append(errs, fmt.Errorf("username length %d to %d: want 1 ≤ min ≤ max ≤ %d", o.UsernameMin, o.UsernameMax, maxUsernameLength))
	}
	return errors.Join(errs...)
}

// connectionOptions resolves Config.ConnectionOptions for the connections
// the tenant has, refusing options for a connection it does not have.
func connectionOptions(conns []string, opts map[string]ConnectionOptions) (map[string]ConnectionOptions, error) {
	out := make(map[string]ConnectionOptions, len(conns))
	for _, c := range conns {
		out[c] = opts[c].withDefaults()
	}
	var errs []error
	for name := range opts {
		if !slices.Contains(conns, name) {
			errs = append(errs, fmt.Errorf("options for %q, which is not in Connections", name))
		}
	}
	for name, o := range out {
		if err := o.validate(); err != nil {
			errs = append(errs, fmt.Errorf("connection %q: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth0test: %w", err)
	}
	return out, nil
}

// wire renders the options as GET /api/v2/connections shows them, in the
// shape of the recorded tenant's legacy database connection.
func (o ConnectionOptions) wire() map[string]any {
	history := map[string]any{"size": defaultHistorySize, "enable": o.PasswordHistory > 0}
	if o.PasswordHistory > 0 {
		history["size"] = o.PasswordHistory
	}
	m := map[string]any{
		"validation":                map[string]any{"username": map[string]any{"max": o.UsernameMax, "min": o.UsernameMin}},
		"passwordPolicy":            o.PasswordPolicy,
		"password_history":          history,
		"requires_username":         o.RequiresUsername,
		"password_dictionary":       map[string]any{"enable": o.PasswordDictionary, "dictionary": nonNil(o.DictionaryEntries)},
		"brute_force_protection":    true,
		"password_no_personal_info": map[string]any{"enable": o.NoPersonalInfo},
	}
	if o.MinLength > 0 {
		m["password_complexity_options"] = map[string]any{"min_length": o.MinLength}
	}
	return m
}

// options returns the settings of a connection the tenant has.
func (t *Tenant) options(connection string) ConnectionOptions {
	return t.connOpts[connection] // written only by Start
}

// usernameAllowed is the punctuation Auth0 documents for usernames, besides
// letters and digits.
const usernameAllowed = "_+-.!#$'^`~@"

// validUsername applies Auth0's documented username rules: the length
// bounds of the connection, letters and digits without accents and the
// listed punctuation, and not an email address.
func (o ConnectionOptions) validUsername(u string) bool {
	n := len([]rune(u))
	if n < o.UsernameMin || n > o.UsernameMax {
		return false
	}
	for _, c := range u {
		if !(c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')) && !strings.ContainsRune(usernameAllowed, c) {
			return false
		}
	}
	return !strings.Contains(u, "@") || invalidEmail(u)
}

// usernameError is the message for a username the rules refuse. The wording
// is the emulator's rendering of Auth0's rules; Auth0's exact text was not
// checked against a recording.
func (o ConnectionOptions) usernameError() string {
	return fmt.Sprintf("Username can only contain alphanumeric characters and: '_', '+', '-', '.', '!', '#', '$', ''', '^', '`', '~' and '@'. "+
		"Username should have between %d and %d characters.", o.UsernameMin, o.UsernameMax)
}
