package auth0test

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// createUserBody is POST /api/v2/users: every property Auth0 documents, and
// no other (Auth0 refuses unknown ones as additional properties).
type createUserBody struct {
	Email         *string        `json:"email"`
	PhoneNumber   *string        `json:"phone_number"`
	UserMetadata  map[string]any `json:"user_metadata"`
	Blocked       *bool          `json:"blocked"`
	EmailVerified *bool          `json:"email_verified"`
	PhoneVerified *bool          `json:"phone_verified"`
	AppMetadata   map[string]any `json:"app_metadata"`
	GivenName     *string        `json:"given_name"`
	FamilyName    *string        `json:"family_name"`
	Name          *string        `json:"name"`
	Nickname      *string        `json:"nickname"`
	Picture       *string        `json:"picture"`
	UserID        *string        `json:"user_id"`
	Connection    *string        `json:"connection"`
	Password      *string        `json:"password"`
	VerifyEmail   *bool          `json:"verify_email"`
	Username      *string        `json:"username"`
}

// patchUserBody is PATCH /api/v2/users/{id}: every property Auth0
// documents. The string properties Auth0 lets be null are listed in
// patchNullable.
type patchUserBody struct {
	Blocked           *bool          `json:"blocked"`
	EmailVerified     *bool          `json:"email_verified"`
	Email             *string        `json:"email"`
	PhoneNumber       *string        `json:"phone_number"`
	PhoneVerified     *bool          `json:"phone_verified"`
	UserMetadata      map[string]any `json:"user_metadata"`
	AppMetadata       map[string]any `json:"app_metadata"`
	GivenName         *string        `json:"given_name"`
	FamilyName        *string        `json:"family_name"`
	Name              *string        `json:"name"`
	Nickname          *string        `json:"nickname"`
	Picture           *string        `json:"picture"`
	VerifyEmail       *bool          `json:"verify_email"`
	VerifyPhoneNumber *bool          `json:"verify_phone_number"`
	Password          *string        `json:"password"`
	Connection        *string        `json:"connection"`
	ClientID          *string        `json:"client_id"`
	Username          *string        `json:"username"`

	// cleared names the profile fields sent as null: removed from the user.
	cleared map[string]bool
}

// patchNullable are the PATCH properties a null removes from the user.
// Auth0's schema also types email, password and username as string or
// null, but does not say what a null does to them: the emulator refuses it
// as a type error.
var patchNullable = []string{"phone_number", "given_name", "family_name", "name", "nickname", "picture"}

// stringRule is a schema constraint on one string property, with the
// description Auth0 quotes in its validation messages.
type stringRule struct {
	prop, desc string
	min, max   int            // characters; 0 is no bound
	pattern    *regexp.Regexp // nil is none
}

var (
	phonePattern  = regexp.MustCompile(`^\+[0-9]{1,15}$`)
	noSpacePatten = regexp.MustCompile(`^\S*$`)
)

// createRules are POST /api/v2/users's string constraints, from Auth0's
// published schema.
var createRules = []stringRule{
	{prop: "email", desc: "The user's email."},
	{prop: "phone_number", desc: "The user's phone number (following the E.164 recommendation).", pattern: phonePattern},
	{prop: "given_name", desc: "The user's given name(s).", min: 1, max: 150},
	{prop: "family_name", desc: "The user's family name(s).", min: 1, max: 150},
	{prop: "name", desc: "The user's full name.", min: 1, max: 300},
	{prop: "nickname", desc: "The user's nickname.", min: 1, max: 300},
	{prop: "picture", desc: "A URI pointing to the user's picture."},
	{prop: "user_id", desc: "The external user's id provided by the identity provider.", max: 255, pattern: noSpacePatten},
	{prop: "connection", desc: "Name of the connection this user should be created in.", min: 1},
	{prop: "password", desc: "Initial password for this user. Only valid for auth0 connection strategy.", min: 1},
	{prop: "username", desc: "The user's username. Only valid if the connection requires a username.", min: 1, max: 128},
}

// patchRules are PATCH /api/v2/users/{id}'s string constraints.
var patchRules = []stringRule{
	{prop: "email", desc: "Email address of this user."},
	{prop: "phone_number", desc: "The user's phone number (following the E.164 recommendation).", pattern: phonePattern},
	{prop: "given_name", desc: "Given name/first name/forename of this user.", min: 1, max: 150},
	{prop: "family_name", desc: "Family name/last name/surname of this user.", min: 1, max: 150},
	{prop: "name", desc: "Name of this user.", min: 1, max: 300},
	{prop: "nickname", desc: "Preferred nickname or alias of this user.", min: 1, max: 300},
	{prop: "password", desc: "New password for this user. Only valid for database connections.", min: 1},
	{prop: "connection", desc: "Name of the connection to target for this user update.", min: 1},
	{prop: "username", desc: "The user's username. Only valid if the connection requires a username.", min: 1, max: 128},
}

// checkStrings applies the rules to the string properties present in raw,
// in the rules' order, and returns the first violation's message, worded
// as Auth0's schema validator words it.
func checkStrings(raw map[string]json.RawMessage, rules []stringRule) string {
	for _, r := range rules {
		v, ok := raw[r.prop]
		var s string
		if !ok || string(v) == "null" || json.Unmarshal(v, &s) != nil {
			continue // absent or null; types were checked before
		}
		on := fmt.Sprintf("on property %s (%s).", r.prop, strings.TrimSuffix(r.desc, "."))
		n := len([]rune(s))
		switch {
		case r.prop == "email" && invalidEmail(s):
			return fmt.Sprintf("Payload validation error: 'Object didn't pass validation for format email: %s' %s", s, on)
		case r.min > 0 && n < r.min:
			return fmt.Sprintf("Payload validation error: 'String is too short (%d chars), minimum %d' %s", n, r.min, on)
		case r.max > 0 && n > r.max:
			return fmt.Sprintf("Payload validation error: 'String is too long (%d chars), maximum %d' %s", n, r.max, on)
		case r.pattern != nil && !r.pattern.MatchString(s):
			return fmt.Sprintf("Payload validation error: 'String does not match pattern %s: %s' %s", r.pattern, s, on)
		}
	}
	return ""
}

// checkNulls refuses a null for any property of dst (a pointer to a body
// struct) not listed as nullable, as a type error.
func checkNulls(raw map[string]json.RawMessage, dst any, nullable []string) string {
	t := reflect.TypeOf(dst).Elem()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		v, ok := raw[name]
		if !ok || string(v) != "null" || slices.Contains(nullable, name) {
			continue
		}
		return fmt.Sprintf("Payload validation error: 'Expected type %s but found type null' on property %s.", goSchemaType(t.Field(i).Type), name)
	}
	return ""
}

func invalidEmail(email string) bool {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email {
		return true
	}
	_, domain, _ := strings.Cut(email, "@")
	return !strings.Contains(strings.Trim(domain, "."), ".")
}
