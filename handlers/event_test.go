package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eventFixtures(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(names) < 6 {
		t.Fatalf("event fixtures: %d files, %v; want at least 6", len(names), err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDecodePostLoginFirstLogin(t *testing.T) {
	got, err := DecodePostLogin(readEvent(t, "first-login-after-reset.json"))
	if err != nil {
		t.Fatal(err)
	}
	reset := utc("2026-11-24T10:14:40Z")
	want := PostLoginEvent{
		Type:      EventTypePostLogin,
		Timestamp: utc("2026-11-24T10:15:03.120Z"),
		Data: PostLoginData{
			Tenant:         EventTenant{ID: "acme-prod"},
			Transaction:    EventTransaction{ID: "txn_2bQzR7uYk1mD4pLs"},
			Session:        EventSession{ID: "ses_9XkTq3vNw8hJ2cRe"},
			Connection:     EventConnection{ID: "con_Ab12Cd34Ef56Gh78", Name: "Username-Password-Authentication", Strategy: "auth0"},
			Authentication: EventAuthentication{Methods: []AuthMethod{{Name: "pwd", Timestamp: utc("2026-11-24T10:15:02.877Z")}}},
			Stats:          EventStats{LoginsCount: 1},
			Request:        EventRequest{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
			User: EventUser{
				UserID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", Email: "ada@example.com", EmailVerified: false,
				CreatedAt: utc("2026-11-20T08:00:00Z"), LastPasswordReset: &reset,
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodePostLoginFixtures(t *testing.T) {
	tests := []struct {
		file, userID, strategy, methods string
		verified, reset                 bool
		logins                          int
	}{
		{file: "first-login-after-reset.json", userID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", strategy: "auth0", methods: "pwd", reset: true, logins: 1},
		{file: "already-verified.json", userID: "auth0|65f0a9d2c1e4b7a3f8d6e2c1", strategy: "auth0", methods: "pwd", verified: true, reset: true, logins: 57},
		{file: "social-login.json", userID: "google-oauth2|109876543210987654321", strategy: "google-oauth2", methods: "federated", logins: 3},
		{file: "passkey-login.json", userID: "auth0|6561d0e3f5c1b2a3d4e5f607", strategy: "auth0", methods: "passkey", reset: true, logins: 2},
		{file: "extra-fields.json", userID: "auth0|6562e1f4a6d2c3b4e5f60718", strategy: "auth0", methods: "pwd mfa", reset: true, logins: 12},
		{file: "realistic-2k.json", userID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", strategy: "auth0", methods: "pwd", reset: true, logins: 1},
		// What the Action's buildBody makes of realistic-2k.json, and of a login with MFA
		// and a 1 KiB user agent (testdata/events/action-bodies.js).
		{file: "action-typical.json", userID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", strategy: "auth0", methods: "pwd", reset: true, logins: 1},
		{file: "action-2k.json", userID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", strategy: "auth0", methods: "pwd mfa mfa", reset: true, logins: 1},
	}
	if len(tests) != len(eventFixtures(t)) {
		t.Errorf("%d fixtures tested, %d in testdata/events", len(tests), len(eventFixtures(t)))
	}
	for _, tc := range tests {
		ev, err := DecodePostLogin(readEvent(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		u := ev.Data.User
		var methods []string
		for _, m := range ev.Data.Authentication.Methods {
			methods = append(methods, m.Name)
		}
		got := []any{u.UserID, ev.Data.Connection.Strategy, strings.Join(methods, " "), u.EmailVerified, u.LastPasswordReset != nil, ev.Data.Stats.LoginsCount}
		want := []any{tc.userID, tc.strategy, tc.methods, tc.verified, tc.reset, tc.logins}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", tc.file, got, want)
		}
		if ev.Timestamp.IsZero() || u.CreatedAt.IsZero() || !strings.Contains(u.Email, "@") {
			t.Errorf("%s: timestamp %v, created_at %v, email %q; want all set", tc.file, ev.Timestamp, u.CreatedAt, u.Email)
		}
	}
	// An offset is kept, not only the instant.
	ev, _ := DecodePostLogin(readEvent(t, "passkey-login.json"))
	if _, off := ev.Timestamp.Zone(); off != 3600 || !ev.Timestamp.Equal(utc("2026-11-24T12:05:17.004Z")) {
		t.Errorf("passkey timestamp %v, want 2026-11-24T13:05:17.004+01:00", ev.Timestamp)
	}
}

// TestDecodePostLoginRoundTrip: what DecodePostLogin accepts, json.Marshal writes back
// in a form DecodePostLogin reads as the same event (the queue may store it that way).
func TestDecodePostLoginRoundTrip(t *testing.T) {
	for _, name := range eventFixtures(t) {
		ev, err := DecodePostLogin(readEvent(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertRoundTrip(t, name, ev)
	}
}

func assertRoundTrip(t testing.TB, name string, ev PostLoginEvent) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	again, err := DecodePostLogin(b)
	if err != nil {
		t.Fatalf("%s: decode of %s: %v", name, b, err)
	}
	if b2, _ := json.Marshal(again); !bytes.Equal(b, b2) {
		t.Fatalf("%s: round trip changed the event:\n%s\n%s", name, b, b2)
	}
}

// edit returns the first-login fixture with set applied to its generic form; keys come
// out sorted, which also shows that member order does not matter.
func edit(t *testing.T, set func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(readEvent(t, "first-login-after-reset.json")))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	set(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at walks a dotted path ("data.authentication.methods.0") of the generic form.
func at(m map[string]any, path string) (parent any, last string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, _ := strconv.Atoi(p)
			cur = c[i]
		}
	}
	return cur, parts[len(parts)-1]
}

func without(t *testing.T, path string) []byte {
	return edit(t, func(m map[string]any) { p, k := at(m, path); delete(p.(map[string]any), k) })
}

func with(t *testing.T, path string, v any) []byte {
	return edit(t, func(m map[string]any) {
		switch p, k := at(m, path); p := p.(type) {
		case map[string]any:
			p[k] = v
		case []any:
			i, _ := strconv.Atoi(k)
			p[i] = v
		}
	})
}

// raw replaces text in the fixture, for what the generic form cannot express.
func raw(t *testing.T, old, new string) []byte {
	t.Helper()
	b := readEvent(t, "first-login-after-reset.json")
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("fixture has no %q", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func nested(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}

func TestDecodePostLoginRejects(t *testing.T) {
	const syntaxErr = "is not valid JSON" // prefix of every syntax problem
	tests := []struct {
		name         string
		body         []byte
		field, probl string // probl: the problem, or its prefix for syntax errors
	}{
		{name: "empty body", body: nil, probl: syntaxErr},
		{name: "truncated", body: []byte(`{"type":`), probl: syntaxErr},
		{name: "trailing garbage", body: append(readEvent(t, "social-login.json"), 'x'), probl: syntaxErr},
		{name: "two objects", body: []byte(`{}{}`), probl: syntaxErr},
		{name: "trailing comma", body: raw(t, `"strategy": "auth0" }`, `"strategy": "auth0", }`), probl: syntaxErr},
		{name: "single quotes", body: raw(t, `"ip": "203.0.113.7"`, `"ip": '203.0.113.7'`), probl: syntaxErr},
		{name: "raw newline in a string", body: raw(t, `"ada@example.com"`, "\"ada@\nexample.com\""), probl: syntaxErr},
		{name: "bad escape", body: raw(t, `"ada@example.com"`, `"ada\x@example.com"`), probl: syntaxErr},
		{name: "leading zero", body: raw(t, `"logins_count": 1`, `"logins_count": 01`), probl: syntaxErr},
		{name: "array", body: []byte(`[]`), probl: "must be a JSON object"},
		{name: "string", body: []byte(`"auth0.post_login"`), probl: "must be a JSON object"},
		{name: "null", body: []byte(`null`), probl: "must be a JSON object"},
		{name: "not UTF-8", body: raw(t, `"ada@example.com"`, "\"ada\xff@example.com\""), probl: "is not valid UTF-8"},
		{name: "33 deep", body: with(t, "data.extra", nested(31)), probl: "nests deeper than 32 levels"},
		{name: "unknown type", body: with(t, "type", "auth0.post_change_password"), field: "type", probl: "unknown event type"},
		{name: "unknown type with another shape", body: []byte(`{"type":"x","data":[]}`), field: "type", probl: "unknown event type"},
		{name: "type missing", body: without(t, "type"), field: "type", probl: "is required"},
		{name: "type a number", body: with(t, "type", 1), field: "type", probl: "must be a string"},
		{name: "type null", body: with(t, "type", nil), field: "type", probl: "must be a string"},
		{name: "timestamp missing", body: without(t, "timestamp"), field: "timestamp", probl: "is required"},
		{name: "timestamp a number", body: with(t, "timestamp", 1764000000), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "timestamp with a space", body: with(t, "timestamp", "2026-11-24 10:15:03Z"), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "timestamp without zone", body: with(t, "timestamp", "2026-11-24T10:15:03"), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "data missing", body: without(t, "data"), field: "data", probl: "is required"},
		{name: "data an array", body: with(t, "data", []any{}), field: "data", probl: "must be an object"},
		{name: "connection missing", body: without(t, "data.connection"), field: "data.connection", probl: "is required"},
		{name: "connection a string", body: with(t, "data.connection", "auth0"), field: "data.connection", probl: "must be an object"},
		{name: "connection name missing", body: without(t, "data.connection.name"), field: "data.connection.name", probl: "is required"},
		{name: "connection name a number", body: with(t, "data.connection.name", 1), field: "data.connection.name", probl: "must be a string"},
		{name: "connection name empty", body: with(t, "data.connection.name", ""), field: "data.connection.name", probl: "must not be empty"},
		{name: "strategy missing", body: without(t, "data.connection.strategy"), field: "data.connection.strategy", probl: "is required"},
		{name: "strategy a boolean", body: with(t, "data.connection.strategy", true), field: "data.connection.strategy", probl: "must be a string"},
		{name: "strategy empty", body: with(t, "data.connection.strategy", ""), field: "data.connection.strategy", probl: "must not be empty"},
		{name: "authentication missing", body: without(t, "data.authentication"), field: "data.authentication", probl: "is required"},
		{name: "methods missing", body: without(t, "data.authentication.methods"), field: "data.authentication.methods", probl: "is required"},
		{name: "methods an object", body: with(t, "data.authentication.methods", map[string]any{}), field: "data.authentication.methods", probl: "must be an array"},
		{name: "methods null", body: with(t, "data.authentication.methods", nil), field: "data.authentication.methods", probl: "must not be null"},
		{name: "method a string", body: with(t, "data.authentication.methods.0", "pwd"), field: "data.authentication.methods[0]", probl: "must be an object"},
		{name: "method null", body: with(t, "data.authentication.methods.0", nil), field: "data.authentication.methods[0]", probl: "must not be null"},
		{name: "method without name", body: without(t, "data.authentication.methods.0.name"), field: "data.authentication.methods[0].name", probl: "is required"},
		{name: "second method name a number", body: with(t, "data.authentication.methods", []any{map[string]any{"name": "pwd"}, map[string]any{"name": 5}}), field: "data.authentication.methods[1].name", probl: "must be a string"},
		{name: "method timestamp not a time", body: with(t, "data.authentication.methods.0.timestamp", "now"), field: "data.authentication.methods[0].timestamp", probl: "must be an RFC 3339 time"},
		{name: "user missing", body: without(t, "data.user"), field: "data.user", probl: "is required"},
		{name: "user a string", body: with(t, "data.user", "auth0|1"), field: "data.user", probl: "must be an object"},
		{name: "user_id missing", body: without(t, "data.user.user_id"), field: "data.user.user_id", probl: "is required"},
		{name: "user_id a number", body: with(t, "data.user.user_id", 42), field: "data.user.user_id", probl: "must be a string"},
		{name: "user_id empty", body: with(t, "data.user.user_id", ""), field: "data.user.user_id", probl: "must not be empty"},
		{name: "user_id of 257 bytes", body: with(t, "data.user.user_id", "auth0|"+strings.Repeat("a", 251)), field: "data.user.user_id", probl: "must be at most 256 bytes"},
		{name: "user_id with a newline", body: with(t, "data.user.user_id", "auth0|x}:{mp}:jobs\n"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with NUL", body: with(t, "data.user.user_id", "auth0|a\x00b"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with DEL", body: with(t, "data.user.user_id", "auth0|a\x7fb"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with a C1 control", body: with(t, "data.user.user_id", "auth0|a\u0085b"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with a bidi override", body: with(t, "data.user.user_id", "auth0|\u202eab"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with an unpaired surrogate", body: raw(t, `"auth0|6560c1f2e4b0a1b2c3d4e5f6"`, `"auth0|\ud800"`), field: "data.user.user_id", probl: "must not contain an unpaired UTF-16 surrogate"},
		{name: "email missing", body: without(t, "data.user.email"), field: "data.user.email", probl: "is required"},
		{name: "email an array", body: with(t, "data.user.email", []any{"ada@example.com"}), field: "data.user.email", probl: "must be a string"},
		{name: "email empty", body: with(t, "data.user.email", ""), field: "data.user.email", probl: "must not be empty"},
		{name: "email without @", body: with(t, "data.user.email", "ada.example.com"), field: "data.user.email", probl: "must be an email address"},
		{name: "email of 321 bytes", body: with(t, "data.user.email", strings.Repeat("a", 309)+"@example.com"), field: "data.user.email", probl: "must be at most 320 bytes"},
		{name: "email with a tab", body: with(t, "data.user.email", "ada\t@example.com"), field: "data.user.email", probl: "must not contain control characters"},
		{name: "email_verified missing", body: without(t, "data.user.email_verified"), field: "data.user.email_verified", probl: "is required"},
		{name: "email_verified null", body: with(t, "data.user.email_verified", nil), field: "data.user.email_verified", probl: "must not be null"},
		{name: "email_verified a string", body: with(t, "data.user.email_verified", "false"), field: "data.user.email_verified", probl: "must be a boolean"},
		{name: "email_verified zero", body: with(t, "data.user.email_verified", 0), field: "data.user.email_verified", probl: "must be a boolean"},
		{name: "email_verified in upper case", body: raw(t, `"email_verified"`, `"EMAIL_VERIFIED"`), field: "data.user.email_verified", probl: "is required"},
		{name: "email_verified twice", body: raw(t, `"email_verified": false`, `"email_verified": false, "email_verified": true`), field: "data.user.email_verified", probl: "appears more than once"},
		{name: "user twice", body: raw(t, `"user": {`, `"user": {}, "user": {`), field: "data.user", probl: "appears more than once"},
		{name: "created_at a number", body: with(t, "data.user.created_at", 5), field: "data.user.created_at", probl: "must be an RFC 3339 time"},
		{name: "last_password_reset not a time", body: with(t, "data.user.last_password_reset", "yesterday"), field: "data.user.last_password_reset", probl: "must be an RFC 3339 time"},
		{name: "last_password_reset on 31 November", body: with(t, "data.user.last_password_reset", "2026-11-31T10:00:00Z"), field: "data.user.last_password_reset", probl: "must be an RFC 3339 time"},
		{name: "logins_count negative", body: with(t, "data.stats.logins_count", -1), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count a fraction", body: with(t, "data.stats.logins_count", 1.5), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count in exponent form", body: raw(t, `"logins_count": 1`, `"logins_count": 1e2`), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count a string", body: with(t, "data.stats.logins_count", "1"), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count huge", body: raw(t, `"logins_count": 1`, `"logins_count": 12345678901234567890`), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "stats an array", body: with(t, "data.stats", []any{}), field: "data.stats", probl: "must be an object"},
		{name: "tenant id an object", body: with(t, "data.tenant.id", map[string]any{}), field: "data.tenant.id", probl: "must be a string"},
		{name: "session a number", body: with(t, "data.session", 1), field: "data.session", probl: "must be an object"},
		{name: "request ip a number", body: with(t, "data.request.ip", 203), field: "data.request.ip", probl: "must be a string"},
		{name: "first field error wins", body: with(t, "data.connection", map[string]any{"name": 1, "strategy": 2}), field: "data.connection.name", probl: "must be a string"},
		{name: "JSON error wins over field error", body: append(with(t, "data.user.email", 1), '}'), probl: syntaxErr},
	}
	for _, tc := range tests {
		ev, err := DecodePostLogin(tc.body)
		var ee *EventError
		if !errors.As(err, &ee) {
			t.Errorf("%s: error %v, want an *EventError", tc.name, err)
			continue
		}
		if ee.Field != tc.field || !strings.HasPrefix(ee.Problem, tc.probl) || tc.probl != syntaxErr && ee.Problem != tc.probl {
			t.Errorf("%s: got %q %q, want %q %q", tc.name, ee.Field, ee.Problem, tc.field, tc.probl)
		}
		if !strings.Contains(err.Error(), ee.Field) || strings.Contains(err.Error(), "ada@") || strings.Contains(err.Error(), "6560c1f2") {
			t.Errorf("%s: error text %q must name the field and quote nothing from the body", tc.name, err)
		}
		if !reflect.DeepEqual(ev, PostLoginEvent{}) {
			t.Errorf("%s: a rejected body decoded to %+v, want the zero event", tc.name, ev)
		}
	}
}

func TestDecodePostLoginAccepts(t *testing.T) {
	manyRoles := make([]any, 5000)
	for i := range manyRoles {
		manyRoles[i] = "role-" + strconv.Itoa(i)
	}
	manyMethods := make([]any, 1000)
	for i := range manyMethods {
		manyMethods[i] = map[string]any{"name": "pwd", "timestamp": "2026-11-24T10:15:02Z"}
	}
	tests := []struct {
		name  string
		body  []byte
		check func(ev PostLoginEvent) bool
	}{
		{name: "32 deep", body: with(t, "data.extra", nested(30)), check: func(PostLoginEvent) bool { return true }},
		{name: "5000 unknown array elements", body: with(t, "data.authorization", map[string]any{"roles": manyRoles}), check: func(PostLoginEvent) bool { return true }},
		{name: "1000 methods", body: with(t, "data.authentication.methods", manyMethods), check: func(ev PostLoginEvent) bool { return len(ev.Data.Authentication.Methods) == 1000 }},
		{name: "no methods", body: with(t, "data.authentication.methods", []any{}), check: func(ev PostLoginEvent) bool {
			return ev.Data.Authentication.Methods != nil && len(ev.Data.Authentication.Methods) == 0
		}},
		{name: "Redis-like user_id kept verbatim", body: with(t, "data.user.user_id", "auth0|x}:{mp}:jobs"), check: func(ev PostLoginEvent) bool { return ev.Data.User.UserID == "auth0|x}:{mp}:jobs" }},
		{name: "user_id of 256 bytes", body: with(t, "data.user.user_id", "auth0|"+strings.Repeat("a", 250)), check: func(ev PostLoginEvent) bool { return len(ev.Data.User.UserID) == 256 }},
		{name: "non-ASCII email", body: with(t, "data.user.email", "zoë@bücher.example"), check: func(ev PostLoginEvent) bool { return ev.Data.User.Email == "zoë@bücher.example" }},
		{name: "escaped member name", body: raw(t, `"email_verified": false`, `"email\u005fverified": true`), check: func(ev PostLoginEvent) bool { return ev.Data.User.EmailVerified }},
		{name: "escapes and a surrogate pair", body: raw(t, `"ada@example.com"`, `"\u0061da\/\ud83d\ude00@example.com"`), check: func(ev PostLoginEvent) bool { return ev.Data.User.Email == "ada/😀@example.com" }},
		{name: "last_password_reset null", body: with(t, "data.user.last_password_reset", nil), check: func(ev PostLoginEvent) bool { return ev.Data.User.LastPasswordReset == nil }},
		{name: "last_password_reset absent", body: without(t, "data.user.last_password_reset"), check: func(ev PostLoginEvent) bool { return ev.Data.User.LastPasswordReset == nil }},
		{name: "optional objects absent", body: edit(t, func(m map[string]any) {
			d := m["data"].(map[string]any)
			for _, k := range []string{"tenant", "transaction", "session", "stats", "request"} {
				delete(d, k)
			}
		}), check: func(ev PostLoginEvent) bool { return ev.Data.Session.ID == "" && ev.Data.Stats.LoginsCount == 0 }},
		{name: "timestamp without fraction", body: with(t, "timestamp", "2026-11-24T10:15:03Z"), check: func(ev PostLoginEvent) bool { return ev.Timestamp.Equal(utc("2026-11-24T10:15:03Z")) }},
		{name: "timestamp with nanoseconds", body: with(t, "timestamp", "2026-11-24T10:15:03.123456789-05:00"), check: func(ev PostLoginEvent) bool { return ev.Timestamp.Nanosecond() == 123456789 }},
		{name: "whitespace everywhere", body: []byte(" \t\r\n" + string(readEvent(t, "first-login-after-reset.json")) + "\n\t "), check: func(ev PostLoginEvent) bool { return ev.Data.User.Email == "ada@example.com" }},
	}
	for _, tc := range tests {
		ev, err := DecodePostLogin(tc.body)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(ev) {
			t.Errorf("%s: decoded %+v, which fails the row's check", tc.name, ev.Data)
		}
		assertRoundTrip(t, tc.name, ev)
	}
}

// TestParseISOTimeAgrees walks the calendar's edges (leap years, month lengths, hour,
// minute and second limits) and checks the fast path against UnmarshalText both ways:
// the same answer wherever the layout is the fast path's.
func TestParseISOTimeAgrees(t *testing.T) {
	n := 0
	for _, year := range []int{0, 1, 1900, 1999, 2000, 2023, 2024, 2100, 2400, 9999} {
		for month := 0; month <= 13; month++ {
			for day := 0; day <= 32; day++ {
				for _, clock := range []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "09:05:07"} {
					for _, frac := range []string{"", ".000", ".999", ".5"} {
						s := fmt.Sprintf("%04d-%02d-%02dT%s%sZ", year, month, day, clock, frac)
						var want time.Time
						wantErr := want.UnmarshalText([]byte(s))
						got, ok := parseISOTime([]byte(s))
						switch {
						case ok && wantErr != nil:
							t.Fatalf("parseISOTime(%q) accepted what UnmarshalText refuses: %v", s, wantErr)
						case ok && got != want:
							t.Fatalf("parseISOTime(%q) = %v, UnmarshalText = %v", s, got, want)
						case !ok && wantErr == nil && frac != ".5":
							t.Fatalf("parseISOTime(%q) refused a time of its own layout", s)
						}
						n++
					}
				}
			}
		}
	}
	t.Logf("%d strings compared", n)
}

// assertJobPayload: the job payload is JSON the decoder takes back, giving the event
// without the members the worker never reads.
func assertJobPayload(t testing.TB, name string, ev PostLoginEvent) {
	t.Helper()
	payload := ev.AppendJobPayload(nil)
	if !json.Valid(payload) {
		t.Fatalf("%s: job payload is not JSON: %s", name, payload)
	}
	again, err := DecodePostLogin(payload)
	if err != nil {
		t.Fatalf("%s: decode of job payload %s: %v", name, payload, err)
	}
	want := ev
	want.Data.Tenant, want.Data.Transaction, want.Data.Session = EventTenant{}, EventTransaction{}, EventSession{}
	want.Data.Stats, want.Data.Request = EventStats{}, EventRequest{}
	w, _ := json.Marshal(want)
	if g, _ := json.Marshal(again); !bytes.Equal(g, w) {
		t.Fatalf("%s: job payload decodes to\n%s\nwant\n%s", name, g, w)
	}
}

func TestJobPayload(t *testing.T) {
	for _, name := range eventFixtures(t) {
		ev, err := DecodePostLogin(readEvent(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertJobPayload(t, name, ev)
		if p, body := len(ev.AppendJobPayload(nil)), len(readEvent(t, name)); p > body {
			t.Errorf("%s: job payload of %d bytes, more than the %d of the body", name, p, body)
		}
	}
	// Strings that need escaping, and times with an offset and a fraction.
	ev, err := DecodePostLogin(edit(t, func(m map[string]any) {
		data := m["data"].(map[string]any)
		user := data["user"].(map[string]any)
		user["user_id"] = "auth0|\"quoted\"\\back/slash"
		user["email"] = "ünï\u00e9@example.com"
		user["created_at"] = "2026-11-20T10:00:00.123456789+02:00"
		data["connection"].(map[string]any)["name"] = "tab\there\nnew\u0001line"
	}))
	if err != nil {
		t.Fatal(err)
	}
	assertJobPayload(t, "escapes", ev)
}
