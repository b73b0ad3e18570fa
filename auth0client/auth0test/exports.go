package auth0test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"time"
)

const (
	// defaultExportDelay is how long an export job takes to complete, by
	// the tenant clock, when Config.ExportDelay is zero: pending for the
	// first half, processing for the second.
	defaultExportDelay = 200 * time.Millisecond
	// exportLinkTTL: Auth0 documents the download link as valid for 60
	// seconds; reading the job again gives a fresh one.
	exportLinkTTL = 60 * time.Second
	// exportJobTTL: the job (and so a fresh link) stays readable for 24
	// hours after it completed.
	exportJobTTL = 24 * time.Hour
	// maxCSVFields is Auth0's limit on the fields of a CSV export.
	maxCSVFields = 30
)

var (
	connectionIDPattern = regexp.MustCompile(`^con_[A-Za-z0-9]{16}$`)
	jobIDPattern        = regexp.MustCompile(`^job_[A-Za-z0-9]{16}$`)
)

// defaultExportFields are exported when a job names no fields (Auth0
// documents "a predefined set" without listing it; this one is the
// emulator's).
var defaultExportFields = []exportField{
	{Name: "user_id"}, {Name: "email"}, {Name: "email_verified"}, {Name: "name"}, {Name: "nickname"},
	{Name: "created_at"}, {Name: "updated_at"}, {Name: "last_login"}, {Name: "logins_count"},
}

// exportField is one entry of a job's fields: a user property path such as
// email, app_metadata.mailproof or identities[0].connection, and the key it
// is exported under.
type exportField struct {
	Name     string `json:"name"`
	ExportAs string `json:"export_as,omitempty"`
}

// key is what the field is called in the file.
func (f exportField) key() string {
	if f.ExportAs != "" {
		return f.ExportAs
	}
	return f.Name
}

// exportJob is a users_export job; users is the snapshot taken when it was
// created.
type exportJob struct {
	id           string
	connectionID string // empty: every connection
	connection   string
	format       string
	limit        int // 0: no limit
	fields       []exportField
	createdAt    time.Time
	users        []User
}

// wireJob is a job in Auth0's shape and field order (the documented
// sample answer).
type wireJob struct {
	Type         string        `json:"type"`
	Status       string        `json:"status"`
	ConnectionID string        `json:"connection_id,omitempty"`
	Format       string        `json:"format"`
	Limit        int           `json:"limit,omitempty"`
	Fields       []exportField `json:"fields"`
	Location     string        `json:"location,omitempty"`
	Connection   string        `json:"connection,omitempty"`
	CreatedAt    string        `json:"created_at"`
	ID           string        `json:"id"`
}

// exportBody lists the POST /api/v2/jobs/users-exports properties.
type exportBody struct {
	ConnectionID *string         `json:"connection_id"`
	Format       *string         `json:"format"`
	Limit        *int            `json:"limit"`
	Fields       json.RawMessage `json:"fields"`
}

func (t *Tenant) handleCreateExport(w http.ResponseWriter, r *http.Request) {
	var b exportBody
	if !decodeStrict(w, r, &b, 0) {
		return
	}
	job := &exportJob{id: "job_" + randomAlnum(16), format: "csv", createdAt: utc(t.now()), fields: defaultExportFields}
	if b.Format != nil {
		if *b.Format != "json" && *b.Format != "csv" {
			writeBadRequest(w, fmt.Sprintf("Payload validation error: 'No enum match for: \"%s\"' on property format.", *b.Format))
			return
		}
		job.format = *b.Format
	}
	if b.Limit != nil {
		if *b.Limit < 1 {
			writeBadRequest(w, fmt.Sprintf("Payload validation error: 'Value %d is less than minimum 1' on property limit.", *b.Limit))
			return
		}
		job.limit = *b.Limit
	}
	if b.Fields != nil {
		fields, msg := decodeExportFields(b.Fields, job.format)
		if msg != "" {
			writeBadRequest(w, msg)
			return
		}
		job.fields = fields
	}
	if b.ConnectionID != nil {
		if !connectionIDPattern.MatchString(*b.ConnectionID) {
			writeBadRequest(w, "Payload validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$' on property connection_id.")
			return
		}
		name, ok := t.connectionName(*b.ConnectionID)
		if !ok {
			writeAPIError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
			return
		}
		job.connectionID, job.connection = *b.ConnectionID, name
	}

	t.mu.Lock()
	for _, rec := range t.users {
		if job.connection == "" || rec.Connection == job.connection {
			job.users = append(job.users, rec.view())
		}
	}
	t.mu.Unlock()
	sort.Slice(job.users, func(i, j int) bool {
		if !job.users[i].CreatedAt.Equal(job.users[j].CreatedAt) {
			return job.users[i].CreatedAt.Before(job.users[j].CreatedAt)
		}
		return job.users[i].ID < job.users[j].ID
	})
	if job.limit > 0 && len(job.users) > job.limit {
		job.users = job.users[:job.limit]
	}
	t.mu.Lock()
	t.jobs[job.id] = job
	t.mu.Unlock()
	// The recorded answer is 200, not 201.
	writeJSON(w, http.StatusOK, t.wireJob(job, job.createdAt))
}

// decodeExportFields reads the fields array strictly: each entry has a
// name and may have export_as, nothing else.
func decodeExportFields(raw json.RawMessage, format string) ([]exportField, string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var fields []exportField
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Sprintf("Payload validation error: 'Expected an array of {name, export_as}' on property fields: %v.", err)
	}
	for _, f := range fields {
		if f.Name == "" {
			return nil, "Payload validation error: 'Missing required property: name' on property fields."
		}
		if format == "csv" && (f.Name == "app_metadata" || f.Name == "user_metadata") {
			return nil, fmt.Sprintf("A CSV export cannot hold all of %s: name its fields one by one.", f.Name)
		}
	}
	if format == "csv" && len(fields) > maxCSVFields {
		return nil, fmt.Sprintf("A CSV export can hold at most %d fields.", maxCSVFields)
	}
	return fields, ""
}

func (t *Tenant) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !jobIDPattern.MatchString(id) {
		writeAPIError(w, http.StatusBadRequest, "Path validation error: 'String does not match pattern ^job_[A-Za-z0-9]{16}$' on property id (The id of the job).", "invalid_uri")
		return
	}
	now := t.now()
	job, ok := t.liveJob(id, now)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "The job does not exist.", "inexistent_job")
		return
	}
	writeJSON(w, http.StatusOK, t.wireJob(job, now))
}

// liveJob returns the job unless it is unknown or expired.
func (t *Tenant) liveJob(id string, now time.Time) (*exportJob, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	job, ok := t.jobs[id]
	if !ok {
		return nil, false
	}
	if !now.Before(job.createdAt.Add(t.exportDelay + exportJobTTL)) {
		delete(t.jobs, id)
		return nil, false
	}
	return job, true
}

// wireJob is the job as read at now; a completed job carries a download
// link valid for exportLinkTTL from now.
func (t *Tenant) wireJob(job *exportJob, now time.Time) wireJob {
	out := wireJob{
		Type:         "users_export",
		Status:       "pending",
		ConnectionID: job.connectionID,
		Format:       job.format,
		Limit:        job.limit,
		Fields:       job.fields,
		Connection:   job.connection,
		CreatedAt:    iso(job.createdAt),
		ID:           job.id,
	}
	switch elapsed := now.Sub(job.createdAt); {
	case elapsed >= t.exportDelay:
		out.Status = "completed"
		out.Location = t.exportLink(job, now.Add(exportLinkTTL))
	case elapsed >= t.exportDelay/2:
		out.Status = "processing"
	}
	return out
}
