package auth0test

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Call is one request the tenant received.
type Call struct {
	Method string
	// Path is the decoded URL path, so a user id reads as auth0|… rather
	// than auth0%7C….
	Path string
	// Query is the raw query string.
	Query string
	// Status is the answer's status code; 0 when the request hung until the
	// client gave up or the connection was dropped.
	Status int
	At     time.Time
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// HasAuthorization is true when the request carried an Authorization
	// header (its value is never kept).
	HasAuthorization bool
	// Body is the request body with client_secret and password values
	// replaced by "[redacted]": the record may be shown by `mailproof local`.
	Body []byte
}

// redactedFields are never kept in the call record.
var redactedFields = []string{"client_secret", "password"}

// Calls returns every call received so far, oldest first.
func (t *Tenant) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Call, len(t.calls))
	for i, c := range t.calls {
		c.Body = bytes.Clone(c.Body)
		out[i] = c
	}
	return out
}

// CountCalls counts the calls whose method equals method (any method when
// empty) and whose path starts with pathPrefix.
func (t *Tenant) CountCalls(method, pathPrefix string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.calls {
		if (method == "" || c.Method == method) && strings.HasPrefix(c.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// ResetCalls forgets the calls recorded so far.
func (t *Tenant) ResetCalls() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = nil
}

func (t *Tenant) record(c Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, c)
}

// statusWriter remembers the status code written, for the call record.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// redact removes secrets from a JSON or form body; other bodies, and bodies
// without secrets, are kept byte for byte.
func redact(contentType string, body []byte) []byte {
	media, _, _ := mime.ParseMediaType(contentType)
	switch media {
	case "application/json":
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			// A broken body cannot be redacted field by field: keep it
			// only if no secret could be in it.
			for _, f := range redactedFields {
				if bytes.Contains(body, []byte(f)) {
					return nil
				}
			}
			return body
		}
		changed := false
		for _, f := range redactedFields {
			if _, ok := m[f]; ok {
				m[f] = "[redacted]"
				changed = true
			}
		}
		if !changed {
			return body
		}
		out, err := json.Marshal(m)
		if err != nil {
			return nil
		}
		return out
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		changed := false
		for _, f := range redactedFields {
			if v.Has(f) {
				v.Set(f, "[redacted]")
				changed = true
			}
		}
		if !changed {
			return body
		}
		return []byte(v.Encode())
	}
	return body
}
