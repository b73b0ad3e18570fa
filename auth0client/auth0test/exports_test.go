package auth0test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exportTenant seeds two users in the default connection and one in Staff.
func exportTenant(t *testing.T) (*Tenant, *fakeClock, *http.Client, string) {
	t.Helper()
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, ExportDelay: 2 * time.Second, Connections: []string{DefaultConnection, "Staff"}, Rate: 1, Burst: 1000})
	tn.AddUser(UserSeed{ID: "auth0|ada", Email: "ada@example.com", CreatedAt: clock.Now().Add(-2 * time.Hour), LoginsCount: 3,
		AppMetadata: map[string]any{"mailproof": map[string]any{"provisioned_at": "2026-11-24T08:00:00Z"}, "note": `say "hi"`}})
	tn.AddUser(UserSeed{ID: "auth0|grace", Email: "grace@example.com", CreatedAt: clock.Now().Add(-time.Hour), EmailVerified: true})
	tn.AddUser(UserSeed{ID: "auth0|bob", Email: "bob@example.com", Connection: "Staff"})
	c := httpClient(tn, 5*time.Second)
	return tn, clock, c, token(t, tn, c)
}

// gunzip reads a gzipped body.
func gunzip(t *testing.T, body []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gzip: %v (body %.80q)", err, body)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return string(out)
}

func TestExportLifecycle(t *testing.T) {
	tn, clock, c, tok := exportTenant(t)
	conID, _ := tn.ConnectionID(DefaultConnection)
	fields := []map[string]string{
		{"name": "user_id"}, {"name": "email"}, {"name": "app_metadata.mailproof"},
		{"name": "identities[0].connection", "export_as": "provider"}, {"name": "last_password_reset"},
	}
	resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/jobs/users-exports", tok,
		map[string]any{"connection_id": conID, "format": "json", "fields": fields})
	if resp.status != http.StatusOK {
		t.Fatalf("create: status %d (%s), want 200 as recorded", resp.status, resp.body)
	}
	job := resp.json(t)
	id, _ := job["id"].(string)
	if !regexp.MustCompile(`^job_[A-Za-z0-9]{16}$`).MatchString(id) || job["type"] != "users_export" || job["status"] != "pending" ||
		job["connection_id"] != conID || job["connection"] != DefaultConnection || job["format"] != "json" || job["created_at"] != "2026-11-24T10:15:03.000Z" {
		t.Errorf("create: body %s, want a pending users_export job for %s", resp.body, conID)
	}
	if _, ok := job["location"]; ok {
		t.Errorf("create: body %s has a location before completion", resp.body)
	}
	// A user created after the job started is not in its file.
	tn.AddUser(UserSeed{ID: "auth0|late", Email: "late@example.com"})

	read := func() map[string]any {
		t.Helper()
		resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/jobs/"+id, tok, nil)
		if resp.status != http.StatusOK {
			t.Fatalf("read: status %d (%s)", resp.status, resp.body)
		}
		return resp.json(t)
	}
	for _, want := range []string{"pending", "processing", "completed"} {
		if got := read()["status"]; got != want {
			t.Fatalf("status %v, want %s", got, want)
		}
		if want != "completed" {
			clock.Advance(time.Second)
		}
	}
	location, _ := read()["location"].(string)
	if !strings.HasPrefix(location, tn.URL()+"/user-exports/"+id+"/auth0test.json.gz?Expires=") {
		t.Fatalf("location %q, want a signed link to auth0test.json.gz", location)
	}

	// The link is a plain GET: no token, no rate limit.
	dl := call(t, c, http.MethodGet, location, "", nil)
	if dl.status != http.StatusOK || dl.header.Get("X-Ratelimit-Limit") != "" {
		t.Fatalf("download: status %d, x-ratelimit-limit %q (%.100q), want 200 and none", dl.status, dl.header.Get("X-Ratelimit-Limit"), dl.body)
	}
	want := `{"user_id":"auth0|ada","email":"ada@example.com","app_metadata.mailproof":{"provisioned_at":"2026-11-24T08:00:00Z"},"provider":"Username-Password-Authentication"}` + "\n" +
		`{"user_id":"auth0|grace","email":"grace@example.com","provider":"Username-Password-Authentication"}` + "\n"
	if got := gunzip(t, dl.body); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}

	// The link lasts 60 seconds; reading the job again gives a fresh one.
	clock.Advance(61 * time.Second)
	if dl := call(t, c, http.MethodGet, location, "", nil); dl.status != http.StatusForbidden || !bytes.Contains(dl.body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("expired link: status %d (%s), want 403 AccessDenied", dl.status, dl.body)
	}
	fresh, _ := read()["location"].(string)
	if dl := call(t, c, http.MethodGet, fresh, "", nil); fresh == location || dl.status != http.StatusOK {
		t.Errorf("fresh link %q: status %d, want a new link that works", fresh, dl.status)
	}
	tampered := strings.Replace(fresh, "Signature=", "Signature=x", 1)
	if dl := call(t, c, http.MethodGet, tampered, "", nil); dl.status != http.StatusForbidden {
		t.Errorf("tampered link: status %d, want 403", dl.status)
	}

	// The job is gone a day after it completed.
	clock.Advance(24 * time.Hour)
	tok = token(t, tn, c) // the old one expired too
	resp = call(t, c, http.MethodGet, tn.URL()+"/api/v2/jobs/"+id, tok, nil)
	if got := resp.json(t); resp.status != http.StatusNotFound || got["errorCode"] != "inexistent_job" {
		t.Errorf("expired job: status %d (%s), want 404 inexistent_job", resp.status, resp.body)
	}
	if dl := call(t, c, http.MethodGet, fresh, "", nil); dl.status != http.StatusForbidden {
		t.Errorf("link of an expired job: status %d, want 403", dl.status)
	}
}

// completedFile creates an export, waits it out and returns the file.
func completedFile(t *testing.T, tn *Tenant, clock *fakeClock, c *http.Client, tok string, body map[string]any) string {
	t.Helper()
	resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/jobs/users-exports", tok, body)
	if resp.status != http.StatusOK {
		t.Fatalf("create %v: status %d (%s)", body, resp.status, resp.body)
	}
	id, _ := resp.json(t)["id"].(string)
	clock.Advance(2 * time.Second)
	location, _ := call(t, c, http.MethodGet, tn.URL()+"/api/v2/jobs/"+id, tok, nil).json(t)["location"].(string)
	return gunzip(t, call(t, c, http.MethodGet, location, "", nil).body)
}

func TestExportContent(t *testing.T) {
	tn, clock, c, tok := exportTenant(t)
	conID, _ := tn.ConnectionID(DefaultConnection)
	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{"csv escapes strings", map[string]any{"connection_id": conID, "format": "csv", "fields": []map[string]string{
			{"name": "user_id"}, {"name": "email_verified"}, {"name": "logins_count"}, {"name": "app_metadata.note", "export_as": "note"}}},
			"user_id,email_verified,logins_count,note\n" +
				`"'auth0|ada",false,3,"'say ""hi"""` + "\n" +
				`"'auth0|grace",true,,` + "\n"},
		{"every connection, limited", map[string]any{"format": "json", "limit": 1, "fields": []map[string]string{{"name": "email"}}},
			`{"email":"ada@example.com"}` + "\n"},
		{"whole metadata in json", map[string]any{"connection_id": conID, "format": "json", "limit": 1, "fields": []map[string]string{{"name": "app_metadata"}}},
			`{"app_metadata":{"mailproof":{"provisioned_at":"2026-11-24T08:00:00Z"},"note":"say \"hi\""}}` + "\n"},
		{"no such index", map[string]any{"connection_id": conID, "format": "json", "fields": []map[string]string{{"name": "identities[1].connection"}, {"name": "user_id"}}},
			`{"user_id":"auth0|ada"}` + "\n" + `{"user_id":"auth0|grace"}` + "\n"},
	}
	for _, tc := range tests {
		if got := completedFile(t, tn, clock, c, tok, tc.body); got != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, got, tc.want)
		}
	}
}

func TestExportRejects(t *testing.T) {
	tn, _, c, tok := exportTenant(t)
	conID, _ := tn.ConnectionID(DefaultConnection)
	many := make([]map[string]string, 31)
	for i := range many {
		many[i] = map[string]string{"name": "email"}
	}
	tests := []struct {
		name          string
		body          map[string]any
		wantErrorCode string
		wantMessage   string
	}{
		{"unknown connection", map[string]any{"connection_id": "con_0000000000000000", "format": "json"}, "inexistent_connection", "The connection does not exist."},
		{"malformed connection id", map[string]any{"connection_id": "Username-Password-Authentication"}, "invalid_body", "pattern"},
		{"unknown format", map[string]any{"connection_id": conID, "format": "xml"}, "invalid_body", "format"},
		{"limit zero", map[string]any{"connection_id": conID, "limit": 0}, "invalid_body", "limit"},
		{"field without name", map[string]any{"fields": []map[string]string{{"export_as": "x"}}}, "invalid_body", "name"},
		{"unknown field property", map[string]any{"fields": []map[string]string{{"name": "email", "as": "x"}}}, "invalid_body", "fields"},
		{"unknown property", map[string]any{"connection": DefaultConnection}, "invalid_body", "Additional properties not allowed: connection"},
		{"whole metadata in csv", map[string]any{"format": "csv", "fields": []map[string]string{{"name": "app_metadata"}}}, "invalid_body", "CSV"},
		{"too many csv fields", map[string]any{"format": "csv", "fields": many}, "invalid_body", "30"},
	}
	for _, tc := range tests {
		resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/jobs/users-exports", tok, tc.body)
		got := resp.json(t)
		msg, _ := got["message"].(string)
		if resp.status != http.StatusBadRequest || got["errorCode"] != tc.wantErrorCode || !strings.Contains(msg, tc.wantMessage) {
			t.Errorf("%s: status %d (%s), want 400 %s mentioning %q", tc.name, resp.status, resp.body, tc.wantErrorCode, tc.wantMessage)
		}
	}

	for _, tc := range []struct {
		id         string
		wantStatus int
	}{{"job_0000000000000000", 404}, {"nope", 400}} {
		if resp := call(t, c, http.MethodGet, tn.URL()+"/api/v2/jobs/"+tc.id, tok, nil); resp.status != tc.wantStatus {
			t.Errorf("read job %s: status %d (%s), want %d", tc.id, resp.status, resp.body, tc.wantStatus)
		}
	}
}

func TestExportSpendsTheBucket(t *testing.T) {
	clock := newFakeClock()
	tn := NewT(t, Config{Now: clock.Now, Rate: 1, Burst: 2})
	c := httpClient(tn, 5*time.Second)
	tok := token(t, tn, c)
	for i, want := range []int{200, 200, 429} {
		resp := call(t, c, http.MethodPost, tn.URL()+"/api/v2/jobs/users-exports", tok, map[string]any{"format": "json"})
		if resp.status != want {
			t.Errorf("export %d: status %d, want %d", i, resp.status, want)
		}
	}
}
