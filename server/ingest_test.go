package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
	"github.com/mailproof/mailproof/webhook"
)

const (
	rotatedSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
	fixtureUser   = "auth0|6560c1f2e4b0a1b2c3d4e5f6"
	ingestPath    = "/v1/events/post-login"
	jobStreamKey  = "mp:{mp}:jobs" // store/doc.go
)

// stackOptions choose what startMain wires; zero values are run.go's choices.
type stackOptions struct {
	redisURL string   // default: a database of the shared test server
	keys     []string // default: testSecret
	direct   bool     // *store.Redis as the Ingester instead of the batched store.Ingester
	log      *zap.Logger
	config   func(*Config) // changes to the test configuration
}

// mainStack is the main listener as Run builds it (newEcho's middleware, routes, the
// http.Server from httpServer) on a loopback port, over a real Redis.
type mainStack struct {
	url   string
	store *store.Redis
	reg   *prometheus.Registry
}

func startMain(tb testing.TB, o stackOptions) *mainStack {
	tb.Helper()
	if o.redisURL == "" {
		o.redisURL = redistest.URL(tb)
	}
	if o.keys == nil {
		o.keys = []string{testSecret}
	}
	if o.log == nil {
		o.log = zaptest.NewLogger(tb)
	}
	cfg := Config{WebhookSecrets: o.keys, BodyLimit: 64 << 10, Tolerance: 5 * time.Minute, RedisTimeout: time.Second}
	if o.config != nil {
		o.config(&cfg)
	}
	verifier, err := newVerifier(cfg, time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	rdb, err := store.Open(tb.Context(), o.redisURL)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = rdb.Close() })
	var ingester handlers.Ingester = rdb
	if !o.direct {
		in := store.NewIngester(rdb, 64) // as run.go
		tb.Cleanup(in.Close)
		ingester = in
	}
	reg := prometheus.NewRegistry()
	httpM := newHTTPMetrics(reg)
	mainE := newMainEcho(cfg, o.log, httpM)
	routes(mainE, newEcho("ops", 64<<10, o.log, httpM), routeDeps{
		cfg: cfg, verifier: verifier, ingester: ingester,
		metrics: handlers.NewMetrics(reg, verifier.KeyIDs()), log: o.log, reg: reg,
	})
	return &mainStack{url: serveLoopback(tb, mainE, o.log), store: rdb, reg: reg}
}

// serveLoopback serves e with the server's http.Server settings until the test ends.
func serveLoopback(tb testing.TB, e *echo.Echo, log *zap.Logger) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := httpServer(e, log)
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func (s *mainStack) putPending(tb testing.TB, userID string) {
	tb.Helper()
	err := s.store.PutPending(tb.Context(), store.Record{UserID: userID, Email: "ada@example.com",
		Connection: "Username-Password-Authentication", ProvisionedAt: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		tb.Fatalf("put pending: %v", err)
	}
}

func (s *mainStack) jobs(tb testing.TB) int64 {
	tb.Helper()
	n, err := s.store.Client().XLen(tb.Context(), jobStreamKey).Result()
	if err != nil {
		tb.Fatalf("xlen: %v", err)
	}
	return n
}

// marked reports whether the replay guard holds webhook id.
func (s *mainStack) marked(tb testing.TB, id string) bool {
	tb.Helper()
	left, err := s.store.ReplayMark(tb.Context(), id, time.Hour)
	if err != nil {
		tb.Fatalf("replay mark: %v", err)
	}
	return left > 0
}

// eventFixture is the shared first-login event of event/testdata.
func eventFixture(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(eventtest.Path(eventtest.Base))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// signedRequest builds a POST of body signed with secret at the given time.
func signedRequest(tb testing.TB, base, secret string, at time.Time, body []byte) (*http.Request, string) {
	tb.Helper()
	id := webhook.NewMessageID()
	sig, err := webhook.Sign(secret, id, at, body)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+ingestPath, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	return req, id
}

// ingestReply is either answer shape of the receiver.
type ingestReply struct {
	Status string          `json:"status"`
	Reason string          `json:"reason"`
	JobID  string          `json:"job_id"`
	Error  *handlers.Error `json:"error"`
}

// doIngest sends req with a client that gives up after 10 s, so a hung receiver fails the
// test instead of stalling it.
func doIngest(tb testing.TB, req *http.Request) (*http.Response, ingestReply) {
	tb.Helper()
	return doIngestWithin(tb, req, 10*time.Second)
}

// doIngestWithin is doIngest with a client that gives up after timeout.
func doIngestWithin(tb testing.TB, req *http.Request, timeout time.Duration) (*http.Response, ingestReply) {
	tb.Helper()
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	var r ingestReply
	if err := json.Unmarshal(b, &r); err != nil {
		tb.Errorf("%s %s: answer %q is not JSON: %v", req.Method, req.URL.Path, b, err)
	}
	return resp, r
}

func TestIngestThroughServer(t *testing.T) {
	s := startMain(t, stackOptions{})
	s.putPending(t, fixtureUser)
	body := eventFixture(t)
	dup, _ := signedRequest(t, s.url, testSecret, time.Now(), body)
	dupAgain := dup.Clone(t.Context())
	dupAgain.Body = io.NopCloser(bytes.NewReader(body))
	big := bytes.Replace(body, []byte(`"tenant"`), []byte(`"pad":"`+strings.Repeat("x", 64<<10)+`","tenant"`), 1)
	tests := []struct {
		name       string
		req        func() (*http.Request, string) // the request and the webhook id it carries
		wantStatus int
		wantCode   string // error.code, or the answer's status
		wantQueued bool
		wantMarked bool
	}{
		{"queued", func() (*http.Request, string) { return dup, dup.Header.Get("webhook-id") }, 202, "queued", true, true},
		{"duplicate", func() (*http.Request, string) { return dupAgain, dup.Header.Get("webhook-id") }, 200, "duplicate", false, true},
		{"not pending", func() (*http.Request, string) {
			return signedRequest(t, s.url, testSecret, time.Now(), bytes.Replace(body, []byte(fixtureUser), []byte("auth0|nobody"), 1))
		}, 200, "ignored", false, true},
		{"wrong secret", func() (*http.Request, string) { return signedRequest(t, s.url, rotatedSecret, time.Now(), body) }, 401, "invalid_signature", false, false},
		{"stale", func() (*http.Request, string) {
			return signedRequest(t, s.url, testSecret, time.Now().Add(-6*time.Minute), body)
		}, 401, "stale_timestamp", false, false},
		{"over the limit, Content-Length", func() (*http.Request, string) { return signedRequest(t, s.url, testSecret, time.Now(), big) }, 413, "body_too_large", false, false},
		{"over the limit, chunked", func() (*http.Request, string) {
			req, id := signedRequest(t, s.url, testSecret, time.Now(), big)
			req.ContentLength, req.Body = -1, io.NopCloser(bytes.NewReader(big)) // no length: the limit bites while reading
			return req, id
		}, 413, "body_too_large", false, false},
		{"text/plain", func() (*http.Request, string) {
			req, id := signedRequest(t, s.url, testSecret, time.Now(), body)
			req.Header.Set("content-type", "text/plain")
			return req, id
		}, 415, "unsupported_media_type", false, false},
		{"invalid event", func() (*http.Request, string) { return signedRequest(t, s.url, testSecret, time.Now(), []byte(`[]`)) }, 400, "invalid_event", false, false},
		{"GET", func() (*http.Request, string) {
			req, id := signedRequest(t, s.url, testSecret, time.Now(), nil)
			req.Method = http.MethodGet
			return req, id
		}, 405, "method_not_allowed", false, false},
		{"unknown path", func() (*http.Request, string) {
			req, id := signedRequest(t, s.url, testSecret, time.Now(), body)
			req.URL.Path += "/x"
			return req, id
		}, 404, "not_found", false, false},
	}
	for _, tc := range tests {
		before := s.jobs(t)
		req, id := tc.req()
		resp, r := doIngest(t, req)
		got := r.Status
		if r.Error != nil {
			got = r.Error.Code
		}
		if resp.StatusCode != tc.wantStatus || got != tc.wantCode {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, got, tc.wantStatus, tc.wantCode)
		}
		if resp.Header.Get(echo.HeaderXRequestID) == "" || !strings.HasPrefix(resp.Header.Get("content-type"), "application/json") {
			t.Errorf("%s: headers %v, want an X-Request-Id and a JSON content type", tc.name, resp.Header)
		}
		wantJobs := before
		if tc.wantQueued {
			wantJobs++
		}
		if n := s.jobs(t); n != wantJobs {
			t.Errorf("%s: job stream length %d, want %d", tc.name, n, wantJobs)
		}
		if m := s.marked(t, id); m != tc.wantMarked {
			t.Errorf("%s: replay mark exists %v, want %v", tc.name, m, tc.wantMarked)
		}
	}
}

// TestIngestRedisFailure: with Redis down or hung, the receiver answers 503 at its
// RedisTimeout, and it takes events again once Redis is back. The RedisTimeout is 200 ms
// here and the client gives up after 900 ms: a receiver that ignored the setting would
// answer a hung Redis only at the Redis client's own timeouts (1-2 s), too late. (The
// margin is four and a half times the deadline, so this checks the wiring, not speed.)
func TestIngestRedisFailure(t *testing.T) {
	tests := []struct {
		name       string
		direct     bool
		fail, heal func(*redistest.Server)
	}{
		{"down, batched", false, (*redistest.Server).Stop, (*redistest.Server).Start},
		{"down, direct", true, (*redistest.Server).Stop, (*redistest.Server).Start},
		{"hung, batched", false, (*redistest.Server).Pause, (*redistest.Server).Resume},
		{"hung, direct", true, (*redistest.Server).Pause, (*redistest.Server).Resume},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Dedicated(t)
			s := startMain(t, stackOptions{redisURL: srv.URL(), direct: tc.direct,
				config: func(c *Config) { c.RedisTimeout = 200 * time.Millisecond }})
			s.putPending(t, fixtureUser)
			send := func(step string, wantStatus int, want string) {
				req, _ := signedRequest(t, s.url, testSecret, time.Now(), eventFixture(t))
				resp, r := doIngestWithin(t, req, 900*time.Millisecond)
				got := r.Status
				if r.Error != nil {
					got = r.Error.Code
				}
				if resp.StatusCode != wantStatus || got != want {
					t.Errorf("%s, %s: %d %q, want %d %q", tc.name, step, resp.StatusCode, got, wantStatus, want)
				}
			}
			send("before", 202, "queued")
			tc.fail(srv)
			send("failing", 503, "unavailable")
			send("still failing", 503, "unavailable")
			if got := metricValue(t, s.reg, "mailproof_events_total", "outcome", "unavailable"); got != 2 {
				t.Errorf("%s: mailproof_events_total{outcome=\"unavailable\"} = %v, want 2", tc.name, got)
			}
			tc.heal(srv)
			s.putPending(t, fixtureUser) // a restarted Redis comes back empty
			send("healed", 202, "queued")
		})
	}
}

func TestIngestMetrics(t *testing.T) {
	s := startMain(t, stackOptions{keys: []string{testSecret, rotatedSecret}})
	s.putPending(t, fixtureUser)
	body := eventFixture(t)
	unknownSecret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	send := func(secret string, at time.Time, body []byte, change func(*http.Request)) *http.Request {
		req, _ := signedRequest(t, s.url, secret, at, body)
		if change != nil {
			change(req)
		}
		again := req.Clone(t.Context())
		again.Body = io.NopCloser(bytes.NewReader(body))
		doIngest(t, req)
		return again
	}
	now := time.Now()
	again := send(testSecret, now, body, nil)                                                         // queued
	doIngest(t, again)                                                                                // duplicate
	send(rotatedSecret, now, body, nil)                                                               // queued
	send(testSecret, now, bytes.Replace(body, []byte(fixtureUser), []byte("auth0|nobody"), 1), nil)   // not_pending
	send(unknownSecret, now, body, nil)                                                               // no_match
	send(testSecret, now, body, func(r *http.Request) { r.Header.Del("webhook-signature") })          // missing_signature
	send(testSecret, now.Add(-time.Hour), body, nil)                                                  // stale_timestamp
	send(testSecret, now, []byte(`{"type":"auth0.post_login"}`), nil)                                 // invalid_event
	send(testSecret, now, body, func(r *http.Request) { r.Header.Set("content-type", "text/plain") }) // unsupported_media_type
	big := append(bytes.Repeat([]byte(" "), 64<<10), body...)
	send(testSecret, now, big, func(r *http.Request) { r.ContentLength = -1 }) // body_too_large, read by the handler
	send(testSecret, now, big, nil)                                            // body_too_large, declared

	keyID := func(k string) string { pk, _ := webhook.ParseKey(k); return pk.ID() }
	tests := []struct {
		metric, label, value string
		want                 float64
	}{
		{"mailproof_events_total", "outcome", "queued", 2},
		{"mailproof_events_total", "outcome", "duplicate", 1},
		{"mailproof_events_total", "outcome", "not_pending", 1},
		{"mailproof_events_total", "outcome", "invalid_signature", 2},
		{"mailproof_events_total", "outcome", "stale_timestamp", 1},
		{"mailproof_events_total", "outcome", "invalid_event", 1},
		{"mailproof_events_total", "outcome", "unsupported_media_type", 1},
		{"mailproof_events_total", "outcome", "body_too_large", 2},
		{"mailproof_events_total", "outcome", "unavailable", 0},
		{"mailproof_signature_failures_total", "reason", "no_match", 1},
		{"mailproof_signature_failures_total", "reason", "missing_signature", 1},
		{"mailproof_signature_failures_total", "reason", "stale_timestamp", 1},
		{"mailproof_signature_failures_total", "reason", "malformed_id", 0},
		{"mailproof_signature_key_matches_total", "key_id", keyID(testSecret), 4},
		{"mailproof_signature_key_matches_total", "key_id", keyID(rotatedSecret), 1},
		{"mailproof_ingest_duration_seconds", "outcome", "queued", 2},
		{"mailproof_ingest_duration_seconds", "outcome", "duplicate", 1},
		{"mailproof_ingest_duration_seconds", "outcome", "invalid_signature", 2},
		{"mailproof_ingest_duration_seconds", "outcome", "body_too_large", 2},
	}
	for _, tc := range tests {
		if got := metricValue(t, s.reg, tc.metric, tc.label, tc.value); got != tc.want {
			t.Errorf("%s{%s=%q} = %v, want %v", tc.metric, tc.label, tc.value, got, tc.want)
		}
	}
}

// metricValue reads a counter's value, or a histogram's sample count, from what the
// registry exposes; a series that is not there reads as -1.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if h := m.GetHistogram(); h != nil {
						return float64(h.GetSampleCount())
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// TestIngestConfig: the signature tolerance, the body limit and the replay guard's memory
// follow the configuration.
func TestIngestConfig(t *testing.T) {
	s := startMain(t, stackOptions{config: func(c *Config) {
		c.Tolerance = time.Minute
		c.BodyLimit = 2048
	}})
	s.putPending(t, fixtureUser)
	body := eventFixture(t)
	sized := func(n int) []byte { // the fixture padded with JSON whitespace to n bytes
		return append(bytes.Clone(body), bytes.Repeat([]byte(" "), n-len(body))...)
	}
	tests := []struct {
		name       string
		age        time.Duration
		body       []byte
		wantStatus int
		want       string
	}{
		{"signed 30 s ago", 30 * time.Second, body, 202, "queued"},
		{"signed 2 minutes ago, tolerance 1 minute", 2 * time.Minute, body, 401, "stale_timestamp"},
		{"body at the limit", 0, sized(2048), 202, "queued"},
		{"body one byte over", 0, sized(2049), 413, "body_too_large"},
	}
	for _, tc := range tests {
		req, id := signedRequest(t, s.url, testSecret, time.Now().Add(-tc.age), tc.body)
		resp, r := doIngest(t, req)
		got := r.Status
		if r.Error != nil {
			got = r.Error.Code
		}
		if resp.StatusCode != tc.wantStatus || got != tc.want {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, got, tc.wantStatus, tc.want)
		}
		if tc.wantStatus != 202 {
			continue
		}
		// Remembered for at least twice the tolerance: a redelivery inside the window
		// on either side must find the mark.
		ttl, err := s.store.ReplayMark(t.Context(), id, time.Hour)
		if err != nil || ttl < 2*time.Minute {
			t.Errorf("%s: replay mark lives %v (%v), want at least twice the 1 minute tolerance", tc.name, ttl, err)
		}
	}
}
