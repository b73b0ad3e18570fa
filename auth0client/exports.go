package auth0client

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// Export job statuses as Auth0 reports them.
const (
	ExportPending    = "pending"
	ExportProcessing = "processing"
	ExportCompleted  = "completed"
)

// ExportUsers starts a job exporting the users of one connection (every
// connection when connectionID is empty) as JSON lines holding fields:
// user property paths such as "user_id", "last_password_reset",
// "app_metadata.mailproof" or "identities[0].connection". Each field is
// exported under its own name, so every line's keys are exactly the names
// asked for. Poll ExportJob until it is ExportCompleted, then read the
// file with DownloadExport. An unknown connection id is an ErrPermanent
// error.
func (c *Client) ExportUsers(ctx context.Context, connectionID string, fields []string) (string, error) {
	if len(fields) == 0 {
		return "", fmt.Errorf("export users: %w: no fields", ErrPermanent)
	}
	job := &management.Job{Format: auth0.String("json"), Fields: make([]map[string]any, len(fields))}
	for i, f := range fields {
		// export_as pins the key: Auth0 does not document what it calls a
		// nested field otherwise.
		job.Fields[i] = map[string]any{"name": f, "export_as": f}
	}
	what := "export users"
	if connectionID != "" {
		job.ConnectionID = auth0.String(connectionID)
		what += " of " + connectionID
	}
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	if err := m.Job.ExportUsers(ctx, job); err != nil {
		return "", fmt.Errorf("%s: %w", what, c.classify(m, err, ex, ErrPermanent))
	}
	if job.GetID() == "" {
		return "", fmt.Errorf("%s: %w: answer without a job id", what, ErrTransient)
	}
	return job.GetID(), nil
}

// ExportJob reads an export job: its status and, once ExportCompleted, the
// location of its file. The location is short-lived (Auth0 documents 60
// seconds): download it at once, or read the job again for a fresh one.
// Auth0 keeps a job for a day; an unknown or expired job is an
// ErrPermanent error.
func (c *Client) ExportJob(ctx context.Context, id string) (status, location string, err error) {
	m := c.m.Load()
	ctx, ex := withExchange(ctx)
	job, err := m.Job.Read(ctx, id)
	if err != nil {
		return "", "", fmt.Errorf("read export job %s: %w", id, c.classify(m, err, ex, ErrPermanent))
	}
	return job.GetStatus(), job.GetLocation(), nil
}

// DownloadExport opens a completed export's file and returns its content
// decompressed: JSON lines, one user each. The location is a pre-signed
// link, fetched with a plain GET (never the Management API token). The
// client's timeout bounds the wait for the answer; reading the stream is
// bounded by ctx alone, since a large export takes long to read. The
// caller closes the stream. A refused link (expired, altered) is an
// ErrPermanent error: read the job again for a fresh one.
func (c *Client) DownloadExport(ctx context.Context, location string) (io.ReadCloser, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("download export: %w: location is not an https URL", ErrPermanent)
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("download export: %w: %w", ErrPermanent, err)
	}
	timer := time.AfterFunc(c.http.Timeout, cancel)
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if !timer.Stop() {
		// The timeout cancelled the request, or would cancel the body.
		if err == nil {
			_ = resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("download export: %w: no answer within %v", ErrTransient, c.http.Timeout)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("download export: %w: %w", ErrTransient, err)
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("download export: %w: answered %d", downloadStatus(resp), resp.StatusCode)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		_ = resp.Body.Close()
		cancel()
		if errors.Is(err, gzip.ErrHeader) {
			return nil, fmt.Errorf("download export: %w: not gzip", ErrPermanent)
		}
		return nil, fmt.Errorf("download export: %w: %w", ErrTransient, err)
	}
	return &exportStream{Reader: zr, body: resp.Body, cancel: cancel}, nil
}

// downloadStatus classifies the file host's refusal: it is not the
// Management API, so a 403 says the link expired or was altered, not that
// the credentials are wrong.
func downloadStatus(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return rateLimited(resp.Header)
	case resp.StatusCode >= 500:
		return ErrTransient
	}
	return ErrPermanent
}

// exportStream is the decompressed file; Close releases the connection.
type exportStream struct {
	*gzip.Reader
	body   io.Closer
	cancel context.CancelFunc
}

func (s *exportStream) Close() error {
	err := s.body.Close()
	s.cancel()
	return err
}
