package auth0test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a tenant clock a test moves by hand, so rate-limit refills
// and token expiry are exact.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 24, 10, 15, 3, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// httpClient trusts the tenant's CA. The timeout only keeps a broken test
// from hanging; nothing asserts on durations.
func httpClient(tn *Tenant, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = tn.CertPool()
	return &http.Client{Transport: tr, Timeout: timeout}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return m
}

func (r response) array(t *testing.T) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return a
}

// call sends one request; body may be nil, a string (sent as a form) or
// anything else (sent as JSON).
func call(t *testing.T, c *http.Client, method, url, token string, body any) response {
	t.Helper()
	resp, err := send(c, method, url, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func send(c *http.Client, method, url, token string, body any) (response, error) {
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// token obtains a Management API token the way a machine-to-machine
// application does.
func token(t *testing.T, tn *Tenant, c *http.Client) string {
	t.Helper()
	resp := call(t, c, http.MethodPost, tn.URL()+"/oauth/token", "", map[string]string{
		"grant_type":    "client_credentials",
		"client_id":     tn.ClientID(),
		"client_secret": tn.ClientSecret(),
		"audience":      tn.URL() + "/api/v2/",
	})
	if resp.status != http.StatusOK {
		t.Fatalf("token: status %d (%s), want 200", resp.status, resp.body)
	}
	tok, _ := resp.json(t)["access_token"].(string)
	if tok == "" {
		t.Fatalf("token: no access_token in %s", resp.body)
	}
	return tok
}

// userURL is the Management API address of a user, its id escaped the way
// go-auth0 escapes it.
func userURL(tn *Tenant, id string) string {
	return tn.URL() + "/api/v2/users/" + strings.ReplaceAll(id, "|", "%7C")
}

const strongPassword = "Correct-Horse-9-Battery"
