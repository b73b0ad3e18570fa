package auth0test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// wireUser is a user in Auth0's JSON shape and field order: the recorded
// answers list the profile alphabetically, then last_password_reset and
// app_metadata. Where phone_number, phone_verified, last_login and
// logins_count sit is not recorded.
type wireUser struct {
	Blocked           *bool          `json:"blocked,omitempty"`
	CreatedAt         string         `json:"created_at"`
	Email             string         `json:"email,omitempty"`
	EmailVerified     bool           `json:"email_verified"`
	FamilyName        string         `json:"family_name,omitempty"`
	GivenName         string         `json:"given_name,omitempty"`
	Identities        []wireIdentity `json:"identities"`
	Name              string         `json:"name,omitempty"`
	Nickname          string         `json:"nickname,omitempty"`
	PhoneNumber       string         `json:"phone_number,omitempty"`
	PhoneVerified     *bool          `json:"phone_verified,omitempty"`
	Picture           string         `json:"picture,omitempty"`
	UpdatedAt         string         `json:"updated_at"`
	UserID            string         `json:"user_id"`
	UserMetadata      map[string]any `json:"user_metadata,omitempty"`
	Username          string         `json:"username,omitempty"`
	LastPasswordReset string         `json:"last_password_reset,omitempty"`
	AppMetadata       map[string]any `json:"app_metadata,omitempty"`
	LastLogin         string         `json:"last_login,omitempty"`
	LoginsCount       int            `json:"logins_count,omitempty"`
}

type wireIdentity struct {
	Connection string `json:"connection"`
	UserID     string `json:"user_id"`
	Provider   string `json:"provider"`
	IsSocial   bool   `json:"isSocial"`
}

func toWire(u User) wireUser {
	_, local, _ := strings.Cut(u.ID, "|")
	w := wireUser{
		CreatedAt:         iso(u.CreatedAt),
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		FamilyName:        u.FamilyName,
		GivenName:         u.GivenName,
		Identities:        []wireIdentity{{Connection: u.Connection, UserID: local, Provider: "auth0"}},
		Name:              u.Name,
		Nickname:          u.Nickname,
		PhoneNumber:       u.PhoneNumber,
		Picture:           u.Picture,
		UpdatedAt:         iso(u.UpdatedAt),
		UserID:            u.ID,
		UserMetadata:      u.UserMetadata,
		Username:          u.Username,
		LastPasswordReset: iso(u.LastPasswordReset),
		AppMetadata:       u.AppMetadata,
		LastLogin:         iso(u.LastLogin),
		LoginsCount:       u.LoginsCount,
	}
	if u.PhoneNumber != "" || u.PhoneVerified {
		w.PhoneVerified = &u.PhoneVerified
	}
	if u.blockedSet {
		w.Blocked = &u.Blocked
	}
	return w
}

// decodeStrict decodes a JSON object into dst (a pointer to a struct with
// json tags), answering Auth0's payload validation errors: a non-object
// body, a property the struct does not declare, a value of the wrong type,
// or fewer than minProps properties. It reports whether dst is usable.
func decodeStrict(w http.ResponseWriter, r *http.Request, dst any, minProps int) bool {
	_, ok := decodeStrictRaw(w, r, dst, minProps)
	return ok
}

// decodeStrictRaw is decodeStrict that also returns the body's properties
// as sent, so a handler can tell null from absent.
func decodeStrictRaw(w http.ResponseWriter, r *http.Request, dst any, minProps int) (map[string]json.RawMessage, bool) {
	var body bytes.Buffer
	if _, err := body.ReadFrom(r.Body); err != nil {
		writeBadRequest(w, "Invalid request payload JSON format")
		return nil, false
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body.Bytes(), &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			writeBadRequest(w, fmt.Sprintf("Payload validation error: 'Expected type object but found type %s'.", schemaType(typeErr.Value)))
		} else {
			writeBadRequest(w, "Invalid request payload JSON format")
		}
		return nil, false
	}
	allowed := jsonFields(dst)
	var extra []string
	for k := range raw {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		writeBadRequest(w, fmt.Sprintf("Payload validation error: 'Additional properties not allowed: %s'.", strings.Join(extra, ",")))
		return nil, false
	}
	if len(raw) < minProps {
		writeBadRequest(w, fmt.Sprintf("Payload validation error: 'Too few properties defined (%d), minimum %d'.", len(raw), minProps))
		return nil, false
	}
	if err := json.Unmarshal(body.Bytes(), dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			writeBadRequest(w, fmt.Sprintf("Payload validation error: 'Expected type %s but found type %s' on property %s.",
				goSchemaType(typeErr.Type), schemaType(typeErr.Value), typeErr.Field))
		} else {
			writeBadRequest(w, "Invalid request payload JSON format")
		}
		return nil, false
	}
	return raw, true
}

// jsonFields lists the json names of a struct's fields.
func jsonFields(dst any) []string {
	t := reflect.TypeOf(dst).Elem()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// schemaType names a JSON value kind the way Auth0's validator does.
func schemaType(v string) string {
	switch {
	case v == "bool":
		return "boolean"
	case strings.HasPrefix(v, "number"):
		return "number"
	}
	return v
}

func goSchemaType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	}
	return t.String()
}

// mergeMetadata applies Auth0's first-level merge: keys are set, and a null
// value removes the key.
func mergeMetadata(dst, patch map[string]any) map[string]any {
	if patch == nil {
		return dst
	}
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
	return dst
}

// utc returns now in UTC truncated to milliseconds, Auth0's precision, so
// what a client reads back equals what the tenant stored.
func utc(now time.Time) time.Time { return now.UTC().Truncate(time.Millisecond) }

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return utc(t)
}
