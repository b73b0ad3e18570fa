package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/event/eventtest"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDecodeFirstLogin(t *testing.T) {
	got, err := Decode(eventtest.Read(t, "first-login-after-reset.json"))
	if err != nil {
		t.Fatal(err)
	}
	reset := utc("2026-11-24T10:14:40Z")
	want := PostLogin{
		Type:      TypePostLogin,
		Timestamp: utc("2026-11-24T10:15:03.120Z"),
		Data: Data{
			Tenant:         Tenant{ID: "acme-prod"},
			Transaction:    Transaction{ID: "txn_2bQzR7uYk1mD4pLs"},
			Session:        Session{ID: "ses_9XkTq3vNw8hJ2cRe"},
			Connection:     Connection{ID: "con_Ab12Cd34Ef56Gh78", Name: "Username-Password-Authentication", Strategy: "auth0"},
			Authentication: Authentication{Methods: []AuthMethod{{Name: "pwd", Timestamp: utc("2026-11-24T10:15:02.877Z")}}},
			Stats:          Stats{LoginsCount: 1},
			Request:        Request{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
			User: User{
				UserID: "auth0|6560c1f2e4b0a1b2c3d4e5f6", Email: "ada@example.com", EmailVerified: false,
				CreatedAt: utc("2026-11-20T08:00:00Z"), LastPasswordReset: &reset,
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeFixtures(t *testing.T) {
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
	if len(tests) != len(eventtest.Names(t)) {
		t.Errorf("%d fixtures tested, %d in testdata/events", len(tests), len(eventtest.Names(t)))
	}
	for _, tc := range tests {
		ev, err := Decode(eventtest.Read(t, tc.file))
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
	ev, _ := Decode(eventtest.Read(t, "passkey-login.json"))
	if _, off := ev.Timestamp.Zone(); off != 3600 || !ev.Timestamp.Equal(utc("2026-11-24T12:05:17.004Z")) {
		t.Errorf("passkey timestamp %v, want 2026-11-24T13:05:17.004+01:00", ev.Timestamp)
	}
}

// TestDecodeRoundTrip: what Decode accepts, json.Marshal writes back
// in a form Decode reads as the same event (the queue may store it that way).
func TestDecodeRoundTrip(t *testing.T) {
	for _, name := range eventtest.Names(t) {
		ev, err := Decode(eventtest.Read(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertRoundTrip(t, name, ev)
	}
}

func assertRoundTrip(t testing.TB, name string, ev PostLogin) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	again, err := Decode(b)
	if err != nil {
		t.Fatalf("%s: decode of %s: %v", name, b, err)
	}
	if b2, _ := json.Marshal(again); !bytes.Equal(b, b2) {
		t.Fatalf("%s: round trip changed the event:\n%s\n%s", name, b, b2)
	}
}

func TestDecodeRejects(t *testing.T) {
	const syntaxErr = "is not valid JSON" // prefix of every syntax problem
	tests := []struct {
		name         string
		body         []byte
		field, probl string // probl: the problem, or its prefix for syntax errors
	}{
		{name: "empty body", body: nil, probl: syntaxErr},
		{name: "truncated", body: []byte(`{"type":`), probl: syntaxErr},
		{name: "trailing garbage", body: append(eventtest.Read(t, "social-login.json"), 'x'), probl: syntaxErr},
		{name: "two objects", body: []byte(`{}{}`), probl: syntaxErr},
		{name: "trailing comma", body: eventtest.Raw(t, `"strategy": "auth0" }`, `"strategy": "auth0", }`), probl: syntaxErr},
		{name: "single quotes", body: eventtest.Raw(t, `"ip": "203.0.113.7"`, `"ip": '203.0.113.7'`), probl: syntaxErr},
		{name: "raw newline in a string", body: eventtest.Raw(t, `"ada@example.com"`, "\"ada@\nexample.com\""), probl: syntaxErr},
		{name: "bad escape", body: eventtest.Raw(t, `"ada@example.com"`, `"ada\x@example.com"`), probl: syntaxErr},
		{name: "leading zero", body: eventtest.Raw(t, `"logins_count": 1`, `"logins_count": 01`), probl: syntaxErr},
		{name: "array", body: []byte(`[]`), probl: "must be a JSON object"},
		{name: "string", body: []byte(`"auth0.post_login"`), probl: "must be a JSON object"},
		{name: "null", body: []byte(`null`), probl: "must be a JSON object"},
		{name: "not UTF-8", body: eventtest.Raw(t, `"ada@example.com"`, "\"ada\xff@example.com\""), probl: "is not valid UTF-8"},
		{name: "33 deep", body: eventtest.With(t, "data.extra", eventtest.Nested(31)), probl: "nests deeper than 32 levels"},
		{name: "unknown type", body: eventtest.With(t, "type", "auth0.post_change_password"), field: "type", probl: "unknown event type"},
		{name: "unknown type with another shape", body: []byte(`{"type":"x","data":[]}`), field: "type", probl: "unknown event type"},
		{name: "type missing", body: eventtest.Without(t, "type"), field: "type", probl: "is required"},
		{name: "type a number", body: eventtest.With(t, "type", 1), field: "type", probl: "must be a string"},
		{name: "type null", body: eventtest.With(t, "type", nil), field: "type", probl: "must be a string"},
		{name: "timestamp missing", body: eventtest.Without(t, "timestamp"), field: "timestamp", probl: "is required"},
		{name: "timestamp a number", body: eventtest.With(t, "timestamp", 1764000000), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "timestamp with a space", body: eventtest.With(t, "timestamp", "2026-11-24 10:15:03Z"), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "timestamp without zone", body: eventtest.With(t, "timestamp", "2026-11-24T10:15:03"), field: "timestamp", probl: "must be an RFC 3339 time"},
		{name: "data missing", body: eventtest.Without(t, "data"), field: "data", probl: "is required"},
		{name: "data an array", body: eventtest.With(t, "data", []any{}), field: "data", probl: "must be an object"},
		{name: "connection missing", body: eventtest.Without(t, "data.connection"), field: "data.connection", probl: "is required"},
		{name: "connection a string", body: eventtest.With(t, "data.connection", "auth0"), field: "data.connection", probl: "must be an object"},
		{name: "connection name missing", body: eventtest.Without(t, "data.connection.name"), field: "data.connection.name", probl: "is required"},
		{name: "connection name a number", body: eventtest.With(t, "data.connection.name", 1), field: "data.connection.name", probl: "must be a string"},
		{name: "connection name empty", body: eventtest.With(t, "data.connection.name", ""), field: "data.connection.name", probl: "must not be empty"},
		{name: "strategy missing", body: eventtest.Without(t, "data.connection.strategy"), field: "data.connection.strategy", probl: "is required"},
		{name: "strategy a boolean", body: eventtest.With(t, "data.connection.strategy", true), field: "data.connection.strategy", probl: "must be a string"},
		{name: "strategy empty", body: eventtest.With(t, "data.connection.strategy", ""), field: "data.connection.strategy", probl: "must not be empty"},
		{name: "authentication missing", body: eventtest.Without(t, "data.authentication"), field: "data.authentication", probl: "is required"},
		{name: "methods missing", body: eventtest.Without(t, "data.authentication.methods"), field: "data.authentication.methods", probl: "is required"},
		{name: "methods an object", body: eventtest.With(t, "data.authentication.methods", map[string]any{}), field: "data.authentication.methods", probl: "must be an array"},
		{name: "methods null", body: eventtest.With(t, "data.authentication.methods", nil), field: "data.authentication.methods", probl: "must not be null"},
		{name: "method a string", body: eventtest.With(t, "data.authentication.methods.0", "pwd"), field: "data.authentication.methods[0]", probl: "must be an object"},
		{name: "method null", body: eventtest.With(t, "data.authentication.methods.0", nil), field: "data.authentication.methods[0]", probl: "must not be null"},
		{name: "method without name", body: eventtest.Without(t, "data.authentication.methods.0.name"), field: "data.authentication.methods[0].name", probl: "is required"},
		{name: "second method name a number", body: eventtest.With(t, "data.authentication.methods", []any{map[string]any{"name": "pwd"}, map[string]any{"name": 5}}), field: "data.authentication.methods[1].name", probl: "must be a string"},
		{name: "method timestamp not a time", body: eventtest.With(t, "data.authentication.methods.0.timestamp", "now"), field: "data.authentication.methods[0].timestamp", probl: "must be an RFC 3339 time"},
		{name: "user missing", body: eventtest.Without(t, "data.user"), field: "data.user", probl: "is required"},
		{name: "user a string", body: eventtest.With(t, "data.user", "auth0|1"), field: "data.user", probl: "must be an object"},
		{name: "user_id missing", body: eventtest.Without(t, "data.user.user_id"), field: "data.user.user_id", probl: "is required"},
		{name: "user_id a number", body: eventtest.With(t, "data.user.user_id", 42), field: "data.user.user_id", probl: "must be a string"},
		{name: "user_id empty", body: eventtest.With(t, "data.user.user_id", ""), field: "data.user.user_id", probl: "must not be empty"},
		{name: "user_id of 257 bytes", body: eventtest.With(t, "data.user.user_id", "auth0|"+strings.Repeat("a", 251)), field: "data.user.user_id", probl: "must be at most 256 bytes"},
		{name: "user_id with a newline", body: eventtest.With(t, "data.user.user_id", "auth0|x}:{mp}:jobs\n"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with NUL", body: eventtest.With(t, "data.user.user_id", "auth0|a\x00b"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with DEL", body: eventtest.With(t, "data.user.user_id", "auth0|a\x7fb"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with a C1 control", body: eventtest.With(t, "data.user.user_id", "auth0|a\u0085b"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with a bidi override", body: eventtest.With(t, "data.user.user_id", "auth0|\u202eab"), field: "data.user.user_id", probl: "must not contain control characters"},
		{name: "user_id with an unpaired surrogate", body: eventtest.Raw(t, `"auth0|6560c1f2e4b0a1b2c3d4e5f6"`, `"auth0|\ud800"`), field: "data.user.user_id", probl: "must not contain an unpaired UTF-16 surrogate"},
		{name: "email missing", body: eventtest.Without(t, "data.user.email"), field: "data.user.email", probl: "is required"},
		{name: "email an array", body: eventtest.With(t, "data.user.email", []any{"ada@example.com"}), field: "data.user.email", probl: "must be a string"},
		{name: "email empty", body: eventtest.With(t, "data.user.email", ""), field: "data.user.email", probl: "must not be empty"},
		{name: "email without @", body: eventtest.With(t, "data.user.email", "ada.example.com"), field: "data.user.email", probl: "must be an email address"},
		{name: "email of 321 bytes", body: eventtest.With(t, "data.user.email", strings.Repeat("a", 309)+"@example.com"), field: "data.user.email", probl: "must be at most 320 bytes"},
		{name: "email with a tab", body: eventtest.With(t, "data.user.email", "ada\t@example.com"), field: "data.user.email", probl: "must not contain control characters"},
		{name: "email_verified missing", body: eventtest.Without(t, "data.user.email_verified"), field: "data.user.email_verified", probl: "is required"},
		{name: "email_verified null", body: eventtest.With(t, "data.user.email_verified", nil), field: "data.user.email_verified", probl: "must not be null"},
		{name: "email_verified a string", body: eventtest.With(t, "data.user.email_verified", "false"), field: "data.user.email_verified", probl: "must be a boolean"},
		{name: "email_verified zero", body: eventtest.With(t, "data.user.email_verified", 0), field: "data.user.email_verified", probl: "must be a boolean"},
		{name: "email_verified in upper case", body: eventtest.Raw(t, `"email_verified"`, `"EMAIL_VERIFIED"`), field: "data.user.email_verified", probl: "is required"},
		{name: "email_verified twice", body: eventtest.Raw(t, `"email_verified": false`, `"email_verified": false, "email_verified": true`), field: "data.user.email_verified", probl: "appears more than once"},
		{name: "user twice", body: eventtest.Raw(t, `"user": {`, `"user": {}, "user": {`), field: "data.user", probl: "appears more than once"},
		{name: "created_at a number", body: eventtest.With(t, "data.user.created_at", 5), field: "data.user.created_at", probl: "must be an RFC 3339 time"},
		{name: "last_password_reset not a time", body: eventtest.With(t, "data.user.last_password_reset", "yesterday"), field: "data.user.last_password_reset", probl: "must be an RFC 3339 time"},
		{name: "last_password_reset on 31 November", body: eventtest.With(t, "data.user.last_password_reset", "2026-11-31T10:00:00Z"), field: "data.user.last_password_reset", probl: "must be an RFC 3339 time"},
		{name: "logins_count negative", body: eventtest.With(t, "data.stats.logins_count", -1), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count a fraction", body: eventtest.With(t, "data.stats.logins_count", 1.5), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count in exponent form", body: eventtest.Raw(t, `"logins_count": 1`, `"logins_count": 1e2`), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count a string", body: eventtest.With(t, "data.stats.logins_count", "1"), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "logins_count huge", body: eventtest.Raw(t, `"logins_count": 1`, `"logins_count": 12345678901234567890`), field: "data.stats.logins_count", probl: "must be a non-negative integer"},
		{name: "stats an array", body: eventtest.With(t, "data.stats", []any{}), field: "data.stats", probl: "must be an object"},
		{name: "tenant id an object", body: eventtest.With(t, "data.tenant.id", map[string]any{}), field: "data.tenant.id", probl: "must be a string"},
		{name: "session a number", body: eventtest.With(t, "data.session", 1), field: "data.session", probl: "must be an object"},
		{name: "request ip a number", body: eventtest.With(t, "data.request.ip", 203), field: "data.request.ip", probl: "must be a string"},
		{name: "first field error wins", body: eventtest.With(t, "data.connection", map[string]any{"name": 1, "strategy": 2}), field: "data.connection.name", probl: "must be a string"},
		{name: "JSON error wins over field error", body: append(eventtest.With(t, "data.user.email", 1), '}'), probl: syntaxErr},
	}
	for _, tc := range tests {
		ev, err := Decode(tc.body)
		var ee *Error
		if !errors.As(err, &ee) {
			t.Errorf("%s: error %v, want an *Error", tc.name, err)
			continue
		}
		if ee.Field != tc.field || !strings.HasPrefix(ee.Problem, tc.probl) || tc.probl != syntaxErr && ee.Problem != tc.probl {
			t.Errorf("%s: got %q %q, want %q %q", tc.name, ee.Field, ee.Problem, tc.field, tc.probl)
		}
		if !strings.Contains(err.Error(), ee.Field) || strings.Contains(err.Error(), "ada@") || strings.Contains(err.Error(), "6560c1f2") {
			t.Errorf("%s: error text %q must name the field and quote nothing from the body", tc.name, err)
		}
		if !reflect.DeepEqual(ev, PostLogin{}) {
			t.Errorf("%s: a rejected body decoded to %+v, want the zero event", tc.name, ev)
		}
	}
}

func TestDecodeAccepts(t *testing.T) {
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
		check func(ev PostLogin) bool
	}{
		{name: "32 deep", body: eventtest.With(t, "data.extra", eventtest.Nested(30)), check: func(PostLogin) bool { return true }},
		{name: "5000 unknown array elements", body: eventtest.With(t, "data.authorization", map[string]any{"roles": manyRoles}), check: func(PostLogin) bool { return true }},
		{name: "1000 methods", body: eventtest.With(t, "data.authentication.methods", manyMethods), check: func(ev PostLogin) bool { return len(ev.Data.Authentication.Methods) == 1000 }},
		{name: "no methods", body: eventtest.With(t, "data.authentication.methods", []any{}), check: func(ev PostLogin) bool {
			return ev.Data.Authentication.Methods != nil && len(ev.Data.Authentication.Methods) == 0
		}},
		{name: "Redis-like user_id kept verbatim", body: eventtest.With(t, "data.user.user_id", "auth0|x}:{mp}:jobs"), check: func(ev PostLogin) bool { return ev.Data.User.UserID == "auth0|x}:{mp}:jobs" }},
		{name: "user_id of 256 bytes", body: eventtest.With(t, "data.user.user_id", "auth0|"+strings.Repeat("a", 250)), check: func(ev PostLogin) bool { return len(ev.Data.User.UserID) == 256 }},
		{name: "non-ASCII email", body: eventtest.With(t, "data.user.email", "zoë@bücher.example"), check: func(ev PostLogin) bool { return ev.Data.User.Email == "zoë@bücher.example" }},
		{name: "escaped member name", body: eventtest.Raw(t, `"email_verified": false`, `"email\u005fverified": true`), check: func(ev PostLogin) bool { return ev.Data.User.EmailVerified }},
		{name: "escapes and a surrogate pair", body: eventtest.Raw(t, `"ada@example.com"`, `"\u0061da\/\ud83d\ude00@example.com"`), check: func(ev PostLogin) bool { return ev.Data.User.Email == "ada/😀@example.com" }},
		{name: "last_password_reset null", body: eventtest.With(t, "data.user.last_password_reset", nil), check: func(ev PostLogin) bool { return ev.Data.User.LastPasswordReset == nil }},
		{name: "last_password_reset absent", body: eventtest.Without(t, "data.user.last_password_reset"), check: func(ev PostLogin) bool { return ev.Data.User.LastPasswordReset == nil }},
		{name: "optional objects absent", body: eventtest.Edit(t, func(m map[string]any) {
			d := m["data"].(map[string]any)
			for _, k := range []string{"tenant", "transaction", "session", "stats", "request"} {
				delete(d, k)
			}
		}), check: func(ev PostLogin) bool { return ev.Data.Session.ID == "" && ev.Data.Stats.LoginsCount == 0 }},
		{name: "timestamp without fraction", body: eventtest.With(t, "timestamp", "2026-11-24T10:15:03Z"), check: func(ev PostLogin) bool { return ev.Timestamp.Equal(utc("2026-11-24T10:15:03Z")) }},
		{name: "timestamp with nanoseconds", body: eventtest.With(t, "timestamp", "2026-11-24T10:15:03.123456789-05:00"), check: func(ev PostLogin) bool { return ev.Timestamp.Nanosecond() == 123456789 }},
		{name: "whitespace everywhere", body: []byte(" \t\r\n" + string(eventtest.Read(t, "first-login-after-reset.json")) + "\n\t "), check: func(ev PostLogin) bool { return ev.Data.User.Email == "ada@example.com" }},
	}
	for _, tc := range tests {
		ev, err := Decode(tc.body)
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

// assertJobPayload: the job payload is JSON the decoder takes back, giving the event
// without the members the worker never reads.
func assertJobPayload(t testing.TB, name string, ev PostLogin) {
	t.Helper()
	payload := ev.AppendJobPayload(nil)
	if !json.Valid(payload) {
		t.Fatalf("%s: job payload is not JSON: %s", name, payload)
	}
	again, err := Decode(payload)
	if err != nil {
		t.Fatalf("%s: decode of job payload %s: %v", name, payload, err)
	}
	want := ev
	want.Data.Tenant, want.Data.Transaction, want.Data.Session = Tenant{}, Transaction{}, Session{}
	want.Data.Stats, want.Data.Request = Stats{}, Request{}
	w, _ := json.Marshal(want)
	if g, _ := json.Marshal(again); !bytes.Equal(g, w) {
		t.Fatalf("%s: job payload decodes to\n%s\nwant\n%s", name, g, w)
	}
}

func TestJobPayload(t *testing.T) {
	for _, name := range eventtest.Names(t) {
		ev, err := Decode(eventtest.Read(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		assertJobPayload(t, name, ev)
		if p, body := len(ev.AppendJobPayload(nil)), len(eventtest.Read(t, name)); p > body {
			t.Errorf("%s: job payload of %d bytes, more than the %d of the body", name, p, body)
		}
	}
	// Strings that need escaping, and times with an offset and a fraction.
	ev, err := Decode(eventtest.Edit(t, func(m map[string]any) {
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
