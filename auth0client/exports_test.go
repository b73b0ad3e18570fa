package auth0client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

// waitExport polls the job, moving the emulator's clock, until it completes.
func waitExport(t *testing.T, c *auth0client.Client, clk *clock, id string) string {
	t.Helper()
	for range 5 {
		status, location, err := c.ExportJob(context.Background(), id)
		if err != nil {
			t.Fatalf("ExportJob: %v", err)
		}
		if status == auth0client.ExportCompleted {
			return location
		}
		if status != auth0client.ExportPending && status != auth0client.ExportProcessing {
			t.Fatalf("ExportJob: status %q", status)
		}
		clk.Advance(100 * time.Millisecond)
	}
	t.Fatalf("export %s never completed", id)
	return ""
}

func TestExportUsers(t *testing.T) {
	tn, clk := newTenant(t)
	// Exporting one connection needs its id, and so read:connections, which
	// mailproof's grant lacks: the sweep exports every connection.
	tn.SetScopes(append(slices.Clone(auth0test.MailproofScopes), "read:connections"))
	c := newClient(t, tn, nil)
	ctx := context.Background()
	marker := map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": "2026-11-20T00:00:00Z"}}
	ada := tn.AddUser(auth0test.UserSeed{Email: "ada@example.com", AppMetadata: marker, CreatedAt: clk.Now().Add(-time.Hour)})
	tn.ResetPassword(ada.ID, clk.Now().Add(-time.Minute))
	grace := tn.AddUser(auth0test.UserSeed{Email: "grace@example.com"})

	conID, err := c.ConnectionID(ctx, auth0test.DefaultConnection)
	if err != nil {
		t.Fatalf("ConnectionID: %v", err)
	}
	fields := []string{"user_id", "email", "email_verified", "last_password_reset", "app_metadata.mailproof", "identities[0].connection"}
	id, err := c.ExportUsers(ctx, conID, fields)
	if err != nil || !strings.HasPrefix(id, "job_") {
		t.Fatalf("ExportUsers: %q, %v", id, err)
	}
	for _, call := range tn.Calls() {
		if call.Path == "/api/v2/jobs/users-exports" && !strings.Contains(string(call.Body), `{"export_as":"identities[0].connection","name":"identities[0].connection"}`) {
			t.Errorf("export request %s: want each field exported under its own name", call.Body)
		}
	}
	location := waitExport(t, c, clk, id)
	tn.ResetCalls()
	stream, err := c.DownloadExport(ctx, location)
	if err != nil {
		t.Fatalf("DownloadExport: %v", err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(stream)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := stream.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	if len(lines) != 2 {
		t.Fatalf("file has %d lines, want 2: %v", len(lines), lines)
	}
	first, second := lines[0], lines[1]
	mailproof, _ := first["app_metadata.mailproof"].(map[string]any)
	if first["user_id"] != ada.ID || first["email"] != "ada@example.com" || first["email_verified"] != false ||
		first["last_password_reset"] != "2026-11-24T10:14:03.000Z" || mailproof["provisioned_at"] != "2026-11-20T00:00:00Z" ||
		first["identities[0].connection"] != auth0test.DefaultConnection {
		t.Errorf("first line %v, want ada with every field under its own name", first)
	}
	if _, ok := second["last_password_reset"]; second["user_id"] != grace.ID || ok {
		t.Errorf("second line %v, want grace without last_password_reset", second)
	}

	// The download went to the link only, without the Management API token.
	for _, call := range tn.Calls() {
		if !strings.HasPrefix(call.Path, "/user-exports/") || call.HasAuthorization {
			t.Errorf("download call %s %s (authorization %v), want one plain GET of the file", call.Method, call.Path, call.HasAuthorization)
		}
	}
}

func TestExportUsersErrors(t *testing.T) {
	tn, clk := newTenant(t)
	c := newClient(t, tn, func(cfg *auth0client.Config) { cfg.Timeout = 500 * time.Millisecond })
	ctx := context.Background()
	tn.AddUser(auth0test.UserSeed{Email: "ada@example.com"})

	for _, conID := range []string{"con_0000000000000000", "Username-Password-Authentication"} {
		if _, err := c.ExportUsers(ctx, conID, []string{"user_id"}); !errors.Is(err, auth0client.ErrPermanent) {
			t.Errorf("ExportUsers(%s): %v, want ErrPermanent", conID, err)
		}
	}
	if _, err := c.ExportUsers(ctx, "", nil); !errors.Is(err, auth0client.ErrPermanent) {
		t.Errorf("ExportUsers without fields: %v, want ErrPermanent", err)
	}
	if _, _, err := c.ExportJob(ctx, "job_0000000000000000"); !errors.Is(err, auth0client.ErrPermanent) {
		t.Errorf("ExportJob of an unknown job: %v, want ErrPermanent", err)
	}

	// Every connection, when none is named.
	id, err := c.ExportUsers(ctx, "", []string{"user_id"})
	if err != nil {
		t.Fatalf("ExportUsers of every connection: %v", err)
	}
	location := waitExport(t, c, clk, id)

	tests := []struct {
		name     string
		location string
		fault    *auth0test.Fault
		want     error
	}{
		{"not https", strings.Replace(location, "https://", "http://", 1), nil, auth0client.ErrPermanent},
		{"altered", strings.Replace(location, "Signature=", "Signature=x", 1), nil, auth0client.ErrPermanent},
		{"file host failing", location, &auth0test.Fault{PathPrefix: "/user-exports/", Status: 503, Times: 1}, auth0client.ErrTransient},
		{"file host hanging", location, &auth0test.Fault{PathPrefix: "/user-exports/", Hang: true, Times: 1}, auth0client.ErrTransient},
		{"file host slow to answer", location, &auth0test.Fault{PathPrefix: "/user-exports/", Latency: time.Second, Times: 1}, auth0client.ErrTransient},
	}
	for _, tc := range tests {
		if tc.fault != nil {
			tn.Inject(*tc.fault)
		}
		stream, err := c.DownloadExport(ctx, tc.location)
		if err == nil {
			_ = stream.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	// The link expires; reading the job again gives a fresh one.
	clk.Advance(61 * time.Second)
	if _, err := c.DownloadExport(ctx, location); !errors.Is(err, auth0client.ErrPermanent) {
		t.Errorf("expired link: %v, want ErrPermanent", err)
	}
	_, fresh, err := c.ExportJob(ctx, id)
	if err != nil {
		t.Fatalf("ExportJob again: %v", err)
	}
	stream, err := c.DownloadExport(ctx, fresh)
	if err != nil {
		t.Fatalf("fresh link: %v", err)
	}
	defer stream.Close()
	var line struct {
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(stream).Decode(&line); err != nil || !strings.HasPrefix(line.UserID, "auth0|") {
		t.Errorf("fresh link content: %+v, %v", line, err)
	}
}
