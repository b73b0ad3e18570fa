package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestRegisterPending(t *testing.T) {
	f := newAdminFixture(t, fixtureOptions{})
	resetBefore := time.Now().Add(-time.Hour).Truncate(time.Second)
	fresh := f.tenant.AddUser(auth0test.UserSeed{Email: "Ada.Lovelace@Example.com"})
	earlyReset := f.tenant.AddUser(auth0test.UserSeed{Email: "grace@example.com", CreatedAt: resetBefore.Add(-time.Hour), LastPasswordReset: resetBefore})
	verified := f.tenant.AddUser(auth0test.UserSeed{Email: "alan@example.com", EmailVerified: true})

	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string // error code; "" for a record
		wantEmail   string
	}{
		{"unverified database user", "application/json", `{"user_id":"` + fresh.ID + `"}`, 201, "", "ada.lovelace@example.com"},
		{"password reset before registration", "application/json; charset=utf-8", `{"user_id":"` + earlyReset.ID + `"}`, 201, "", "grace@example.com"},
		{"unknown user", "application/json", `{"user_id":"auth0|000000000000000000000000"}`, 404, "user_not_found", ""},
		{"verified user", "application/json", `{"user_id":"` + verified.ID + `"}`, 409, "already_verified", ""},
		{"bad JSON", "application/json", `{"user_id":`, 400, "bad_request", ""},
		{"not an object", "application/json", `["auth0|1"]`, 400, "bad_request", ""},
		{"null body", "application/json", `null`, 400, "bad_request", ""},
		{"empty body", "application/json", ``, 400, "bad_request", ""},
		{"missing user_id", "application/json", `{}`, 400, "bad_request", ""},
		{"user_id not a string", "application/json", `{"user_id":42}`, 400, "bad_request", ""},
		{"unknown field", "application/json", `{"user_id":"` + fresh.ID + `","email":"x@example.com"}`, 400, "bad_request", ""},
		{"trailing object", "application/json", `{"user_id":"` + fresh.ID + `"} {}`, 400, "bad_request", ""},
		{"user_id without provider", "application/json", `{"user_id":"6560c1f2e4b0a1b2c3d4e5f6"}`, 400, "bad_request", ""},
		{"user_id with a newline", "application/json", `{"user_id":"auth0|a\nb"}`, 400, "bad_request", ""},
		{"user_id with a zero-width space, which every event for it would be refused", "application/json", `{"user_id":"auth0|a\u200bb"}`, 400, "bad_request", ""},
		{"user_id with a bidi override", "application/json", `{"user_id":"auth0|a\u202eb"}`, 400, "bad_request", ""},
		{"user_id too long", "application/json", `{"user_id":"auth0|` + strings.Repeat("a", 300) + `"}`, 400, "bad_request", ""},
		{"not JSON content type", "text/plain", `{"user_id":"` + fresh.ID + `"}`, 415, "unsupported_media_type", ""},
		{"body over the limit", "application/json", `{"user_id":"auth0|` + strings.Repeat(" ", 9<<10) + `"}`, 413, "body_too_large", ""},
	}
	for _, tc := range tests {
		before := time.Now().Truncate(time.Millisecond)
		rec := f.do(http.MethodPost, "/v1/pending", tc.contentType, tc.body)
		after := time.Now()
		if rec.Code != tc.wantStatus || errorCode(rec) != tc.wantCode {
			t.Errorf("%s: answer %d %q (%s), want %d %q", tc.name, rec.Code, errorCode(rec), rec.Body, tc.wantStatus, tc.wantCode)
			continue
		}
		if tc.wantCode != "" {
			continue
		}
		got := decodeRecord(t, rec)
		stored, err := f.rdb.Get(t.Context(), got.UserID)
		if err != nil {
			t.Errorf("%s: stored record: %v", tc.name, err)
		}
		if !got.ProvisionedAt.Equal(stored.ProvisionedAt) || got.Email != stored.Email || got.Status != stored.Status {
			t.Errorf("%s: answered %+v, but stored %+v", tc.name, got, stored)
		}
		if got.Email != tc.wantEmail || got.Connection != auth0test.DefaultConnection || got.Status != store.StatusPending {
			t.Errorf("%s: record email %q connection %q status %q, want %q %q %q", tc.name,
				got.Email, got.Connection, got.Status, tc.wantEmail, auth0test.DefaultConnection, store.StatusPending)
		}
		// provisioned_at is the registration time, so only a later reset counts.
		if got.ProvisionedAt.Before(before) || got.ProvisionedAt.After(after) {
			t.Errorf("%s: provisioned_at %v, want the registration time (between %v and %v)", tc.name, got.ProvisionedAt, before, after)
		}
		if !got.ProvisionedAt.After(resetBefore) {
			t.Errorf("%s: provisioned_at %v is not after the earlier password reset %v", tc.name, got.ProvisionedAt, resetBefore)
		}
	}
	// A rejected request changes nothing.
	for _, id := range []string{verified.ID, "auth0|000000000000000000000000"} {
		if _, err := f.rdb.Get(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("record of rejected %s: error %v, want store.ErrNotFound", id, err)
		}
	}
	checkNoEmails(t, f.logs, fresh.Email, earlyReset.Email)
}

func TestRegisterPendingUserShapes(t *testing.T) {
	tests := []struct {
		name       string
		user       auth0client.User
		wantStatus int
		wantCode   string
	}{
		{"social user", auth0client.User{ID: "google-oauth2|1", Email: "ada@example.com", Connection: "google-oauth2"}, 409, "wrong_connection"},
		{"database user without email", auth0client.User{ID: "auth0|1", Connection: "db", DatabaseConnection: true}, 409, "no_email"},
		{"verified social user", auth0client.User{ID: "google-oauth2|1", Email: "ada@example.com", EmailVerified: true}, 409, "already_verified"},
		{"email normalized", auth0client.User{ID: "auth0|1", Email: " Ada@Example.COM ", Connection: "db", DatabaseConnection: true}, 201, ""},
	}
	for _, tc := range tests {
		f := newAdminFixture(t, fixtureOptions{users: fakeUsers{tc.user}})
		rec := f.register(tc.user.ID)
		if rec.Code != tc.wantStatus || errorCode(rec) != tc.wantCode {
			t.Errorf("%s: answer %d %q (%s), want %d %q", tc.name, rec.Code, errorCode(rec), rec.Body, tc.wantStatus, tc.wantCode)
			continue
		}
		if tc.wantCode == "" {
			if got := decodeRecord(t, rec); got.Email != "ada@example.com" || got.Connection != "db" {
				t.Errorf("%s: record email %q connection %q, want %q %q", tc.name, got.Email, got.Connection, "ada@example.com", "db")
			}
		} else if _, err := f.rdb.Get(t.Context(), tc.user.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: record after refusal: error %v, want store.ErrNotFound", tc.name, err)
		}
	}
}

func TestRegisterPendingAgain(t *testing.T) {
	f := newAdminFixture(t, fixtureOptions{})
	u := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	first := f.register(u.ID)
	if first.Code != http.StatusCreated {
		t.Fatalf("first registration: status %d (%s), want 201", first.Code, first.Body)
	}
	again := f.register(u.ID)
	if again.Code != http.StatusOK {
		t.Fatalf("second registration: status %d (%s), want 200", again.Code, again.Body)
	}
	if a, b := decodeRecord(t, first), decodeRecord(t, again); !a.ProvisionedAt.Equal(b.ProvisionedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		t.Errorf("second registration answered %+v, want the untouched first record %+v", b, a)
	}

	// A record that has ended is replaced by a fresh pending one.
	old := time.Now().Add(-48 * time.Hour)
	ended := f.tenant.AddUser(auth0test.UserSeed{Email: "grace@example.com"})
	if err := f.rdb.PutPending(t.Context(), store.Record{UserID: ended.ID, Email: ended.Email, ProvisionedAt: old, ExpiresAt: old.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rec := f.register(ended.ID)
	if rec.Code != http.StatusCreated {
		t.Fatalf("registration over an expired record: status %d (%s), want 201", rec.Code, rec.Body)
	}
	if got := decodeRecord(t, rec); got.Status != store.StatusPending || !got.ProvisionedAt.After(old) || !got.ExpiresAt.IsZero() {
		t.Errorf("registration over an expired record answered status %q provisioned_at %v expires_at %v, want pending, now, never",
			got.Status, got.ProvisionedAt, got.ExpiresAt)
	}
}

func TestRegisterPendingAuth0Failures(t *testing.T) {
	// The tenant's clock runs an hour ahead, so its rate-limit reset is an hour away.
	f := newAdminFixture(t, fixtureOptions{tenantNow: func() time.Time { return time.Now().Add(time.Hour) }, budgetWait: 50 * time.Millisecond})
	u := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	f.tenant.Inject(auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/", Status: http.StatusInternalServerError, Times: 1})
	rec := f.register(u.ID)
	if rec.Code != http.StatusServiceUnavailable || errorCode(rec) != "auth0_unavailable" {
		t.Errorf("Auth0 500: answer %d %q, want 503 auth0_unavailable", rec.Code, errorCode(rec))
	}

	f.tenant.Inject(auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users/", Status: http.StatusTooManyRequests, Times: 1})
	rec = f.register(u.ID)
	if rec.Code != http.StatusTooManyRequests || errorCode(rec) != "overloaded" {
		t.Errorf("Auth0 429: answer %d %q, want 429 overloaded", rec.Code, errorCode(rec))
	}
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 60 {
		t.Errorf("Auth0 429: Retry-After %q, want the seconds until Auth0's reset (about 3600)", rec.Header().Get("Retry-After"))
	}

	// The 429 paused the shared budget: the next registration gives up without calling Auth0.
	calls := f.tenant.CountCalls(http.MethodGet, "/api/v2/users/")
	rec = f.register(u.ID)
	if rec.Code != http.StatusTooManyRequests || errorCode(rec) != "overloaded" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("during the pause: answer %d %q Retry-After %q, want 429 overloaded with Retry-After",
			rec.Code, errorCode(rec), rec.Header().Get("Retry-After"))
	}
	if got := f.tenant.CountCalls(http.MethodGet, "/api/v2/users/"); got != calls {
		t.Errorf("during the pause: %d user reads reached Auth0, want none", got-calls)
	}
	if _, err := f.rdb.Get(t.Context(), u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record after failed registrations: error %v, want store.ErrNotFound", err)
	}
}

func TestPendingRedisDown(t *testing.T) {
	srv := redistest.Dedicated(t)
	f := newAdminFixture(t, fixtureOptions{redisURL: srv.URL()})
	u := f.tenant.AddUser(auth0test.UserSeed{Email: "ada@example.com"})
	srv.Stop()
	tests := []struct {
		name   string
		method string
		target string
		body   string
	}{
		{"register", http.MethodPost, "/v1/pending", `{"user_id":"` + u.ID + `"}`},
		{"get", http.MethodGet, "/v1/pending/auth0%7C1", ""},
		{"delete", http.MethodDelete, "/v1/pending/auth0%7C1", ""},
		{"list", http.MethodGet, "/v1/pending", ""},
	}
	for _, tc := range tests {
		rec := f.do(tc.method, tc.target, "application/json", tc.body)
		if rec.Code != http.StatusServiceUnavailable || errorCode(rec) != "unavailable" {
			t.Errorf("%s: answer %d %q, want 503 unavailable", tc.name, rec.Code, errorCode(rec))
		}
	}
}

func TestGetDeletePending(t *testing.T) {
	f := newAdminFixture(t, fixtureOptions{})
	for _, id := range []string{"auth0|6560c1f2e4b0a1b2c3d4e5f6", "auth0|with/slash", "samlp|acme|ada"} {
		if err := f.rdb.PutPending(t.Context(), store.Record{UserID: id, Email: "ada@example.com", Connection: "db"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantUserID string // for 200
	}{
		{"get escaped pipe", "GET", "/v1/pending/auth0%7C6560c1f2e4b0a1b2c3d4e5f6", 200, "auth0|6560c1f2e4b0a1b2c3d4e5f6"},
		{"get lower-case escape", "GET", "/v1/pending/auth0%7c6560c1f2e4b0a1b2c3d4e5f6", 200, "auth0|6560c1f2e4b0a1b2c3d4e5f6"},
		{"get raw pipe", "GET", "/v1/pending/auth0|6560c1f2e4b0a1b2c3d4e5f6", 200, "auth0|6560c1f2e4b0a1b2c3d4e5f6"},
		{"get escaped slash", "GET", "/v1/pending/auth0%7Cwith%2Fslash", 200, "auth0|with/slash"},
		{"get two pipes", "GET", "/v1/pending/samlp%7Cacme%7Cada", 200, "samlp|acme|ada"},
		{"get double escape is not decoded twice", "GET", "/v1/pending/auth0%257C6560c1f2e4b0a1b2c3d4e5f6", 404, ""},
		{"get unknown", "GET", "/v1/pending/auth0%7Cnobody", 404, ""},
		{"delete escaped pipe", "DELETE", "/v1/pending/auth0%7C6560c1f2e4b0a1b2c3d4e5f6", 204, ""},
		{"get after delete", "GET", "/v1/pending/auth0%7C6560c1f2e4b0a1b2c3d4e5f6", 404, ""},
		{"delete again", "DELETE", "/v1/pending/auth0%7C6560c1f2e4b0a1b2c3d4e5f6", 404, ""},
		{"delete escaped slash", "DELETE", "/v1/pending/auth0%7Cwith%2Fslash", 204, ""},
		{"delete unknown", "DELETE", "/v1/pending/auth0%7Cnobody", 404, ""},
	}
	for _, tc := range tests {
		rec := f.do(tc.method, tc.path, "", "")
		if rec.Code != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, rec.Code, rec.Body, tc.wantStatus)
			continue
		}
		switch {
		case tc.wantStatus == 404 && errorCode(rec) != "not_found":
			t.Errorf("%s: error code %q, want not_found", tc.name, errorCode(rec))
		case tc.wantStatus == 204 && rec.Body.Len() != 0:
			t.Errorf("%s: body %q, want none", tc.name, rec.Body)
		case tc.wantStatus == 200:
			if got := decodeRecord(t, rec); got.UserID != tc.wantUserID || got.Status != store.StatusPending {
				t.Errorf("%s: record %s %s, want %s pending", tc.name, got.UserID, got.Status, tc.wantUserID)
			}
		}
	}
	if _, err := f.rdb.Get(t.Context(), "samlp|acme|ada"); err != nil {
		t.Errorf("untouched record: %v", err)
	}
}

func TestListPending(t *testing.T) {
	f := newAdminFixture(t, fixtureOptions{})
	if rec := f.do("GET", "/v1/pending", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"records":[]`) {
		t.Errorf("empty list: %d %s, want 200 with \"records\":[]", rec.Code, rec.Body)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var want []string // newest first
	for i := range 7 {
		id := fmt.Sprintf("auth0|user%d", i)
		if err := f.rdb.PutPending(t.Context(), store.Record{UserID: id, Email: fmt.Sprintf("u%d@example.com", i), ProvisionedAt: base.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
	}

	var got []string
	var sizes []int
	target := "/v1/pending?limit=3"
	for page := 0; target != ""; page++ {
		if page > 4 {
			t.Fatalf("more than 4 pages of 3 for 7 records; got so far %v", got)
		}
		rec := f.do("GET", target, "", "")
		var p PendingPage
		if err := json.Unmarshal(rec.Body.Bytes(), &p); rec.Code != 200 || err != nil {
			t.Fatalf("page %d: %d %s", page, rec.Code, rec.Body)
		}
		sizes = append(sizes, len(p.Records))
		for _, r := range p.Records {
			got = append(got, r.UserID)
		}
		target = ""
		if p.NextCursor != "" {
			target = "/v1/pending?limit=3&cursor=" + p.NextCursor
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(sizes) != "[3 3 1]" {
		t.Errorf("pages of 3: sizes %v ids %v, want [3 3 1] %v", sizes, got, want)
	}

	tests := []struct {
		name       string
		query      string
		wantStatus int
		wantN      int
	}{
		{"default limit", "", 200, 7},
		{"largest limit", "?limit=500", 200, 7},
		{"limit one", "?limit=1", 200, 1},
		{"limit zero", "?limit=0", 400, 0},
		{"negative limit", "?limit=-1", 400, 0},
		{"limit over the cap", "?limit=501", 400, 0},
		{"limit not a number", "?limit=ten", 400, 0},
		{"cursor not base64", "?cursor=!!!", 400, 0},
		{"cursor not ours", "?cursor=bm9wZQ", 400, 0},
	}
	for _, tc := range tests {
		rec := f.do("GET", "/v1/pending"+tc.query, "", "")
		if rec.Code != tc.wantStatus {
			t.Errorf("%s: status %d (%s), want %d", tc.name, rec.Code, rec.Body, tc.wantStatus)
			continue
		}
		if tc.wantStatus != 200 {
			if errorCode(rec) != "bad_request" {
				t.Errorf("%s: error code %q, want bad_request", tc.name, errorCode(rec))
			}
			continue
		}
		var p PendingPage
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if len(p.Records) != tc.wantN {
			t.Errorf("%s: %d records, want %d", tc.name, len(p.Records), tc.wantN)
		}
	}
}
