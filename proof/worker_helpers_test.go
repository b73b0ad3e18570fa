package proof

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
	"github.com/mailproof/mailproof/webhook"
)

// waitCeiling bounds every wait for the worker, so a broken worker fails the test instead
// of hanging it. It is a guard, not a performance expectation.
const waitCeiling = 20 * time.Second

// testConfig is the worker configuration of the tests: built directly rather than through
// LoadConfig, so retries and leases can be short enough for a quick test.
func testConfig() Config {
	return Config{
		WorkerConfig: WorkerConfig{
			Rate:              1000,
			Concurrency:       2,
			VisibilityTimeout: 5 * time.Second,
			MaxAttempts:       5,
			RetryBase:         10 * time.Millisecond,
			RetryMax:          50 * time.Millisecond,
		},
		Auth0Timeout: 2 * time.Second,
	}
}

// Config is a test's worker configuration plus the Management API client's timeout.
type Config struct {
	WorkerConfig
	Auth0Timeout time.Duration
}

// newWorker is NewWorker for a test: its configuration must be valid.
func newWorker(cfg Config, rdb *store.Redis, a0 *auth0client.Client, log *zap.Logger, reg prometheus.Registerer, now func() time.Time) *Worker {
	wc := cfg.WorkerConfig
	wc.Now = now
	w, err := NewWorker(wc, rdb, a0, log, reg)
	if err != nil {
		panic(err)
	}
	return w
}

// harness is one worker's world: a Redis database, an emulated tenant, the real go-auth0
// client over HTTPS, and a log that is checked for email addresses when the test ends.
type harness struct {
	t      testing.TB
	cfg    Config
	rdb    *store.Redis
	url    string // rdb's Redis URL
	tenant *auth0test.Tenant
	a0     *auth0client.Client
	log    *zap.Logger

	mu     sync.Mutex
	emails []string
}

func newHarness(t testing.TB, change func(*Config), tc auth0test.Config) *harness {
	t.Helper()
	return newHarnessAt(t, redistest.URL(t), change, tc)
}

// newHarnessAt is newHarness on the Redis at redisURL (a dedicated server).
func newHarnessAt(t testing.TB, redisURL string, change func(*Config), tc auth0test.Config) *harness {
	t.Helper()
	cfg := testConfig()
	if change != nil {
		change(&cfg)
	}
	rdb, err := store.Open(t.Context(), redisURL)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	tenant := auth0test.NewT(t, tc)
	a0, err := auth0client.New(context.Background(), auth0client.Config{
		Domain:       tenant.Domain(),
		ClientID:     tenant.ClientID(),
		ClientSecret: tenant.ClientSecret(),
		CAFile:       tenant.CAFile(),
		Timeout:      cfg.Auth0Timeout,
	})
	if err != nil {
		t.Fatalf("auth0 client: %v", err)
	}
	core, logs := observer.New(zap.InfoLevel)
	h := &harness{t: t, cfg: cfg, rdb: rdb, url: redisURL, tenant: tenant, a0: a0,
		log: zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core()))}
	// Registered first, so it runs after every worker has stopped.
	t.Cleanup(func() { h.checkLogs(logs) })
	return h
}

// checkLogs fails the test if any log line holds a full email address of the test users.
func (h *harness) checkLogs(logs *observer.ObservedLogs) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, email := range h.emails {
			if strings.Contains(line, email) {
				h.t.Errorf("log line %q holds the full address of a user", e.Message)
			}
		}
	}
}

func (h *harness) worker() *Worker {
	return newWorker(h.cfg, h.rdb, h.a0, h.log, prometheus.NewRegistry(), time.Now)
}

// start runs w until the returned stop is called (or the test ends) and waits until it
// takes jobs. stop returns once run has returned.
func (h *harness) start(w *Worker) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("worker run: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	h.waitFor("the worker to start", func() (bool, string) {
		err := w.Ready(ctx)
		return err == nil, fmt.Sprint(err)
	})
	return stop
}

// waitFor polls cond until it holds; cond also describes the state it saw, for the
// failure message.
func (h *harness) waitFor(what string, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(waitCeiling)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("gave up waiting for %s; last state: %s", what, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// noteEmail remembers an address the test uses, so checkLogs can look for it.
func (h *harness) noteEmail(email string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.emails = append(h.emails, email)
	return email
}

// provision does what `mailproof provision` and a person's reset do: an unverified user
// in the database connection, a pending record written an hour ago, and a password reset
// completed after it. It returns the user as the tenant now has it.
func (h *harness) provision(name string) auth0test.User {
	h.t.Helper()
	email := h.noteEmail(name + "@example.com")
	provisioned := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	u := h.tenant.AddUser(auth0test.UserSeed{Email: email, Connection: auth0test.DefaultConnection, CreatedAt: provisioned})
	if err := h.rdb.PutPending(h.t.Context(), store.Record{
		UserID: u.ID, Email: email, Connection: auth0test.DefaultConnection, ProvisionedAt: provisioned,
	}); err != nil {
		h.t.Fatalf("put pending: %v", err)
	}
	h.tenant.ResetPassword(u.ID, provisioned.Add(50*time.Minute))
	u, _ = h.tenant.User(u.ID)
	return u
}

// loggedIn provisions n users named prefix0… and queues each one's eligible login.
func (h *harness) loggedIn(prefix string, n int) []auth0test.User {
	h.t.Helper()
	users := make([]auth0test.User, n)
	for i := range users {
		users[i] = h.provision(fmt.Sprintf("%s%d", prefix, i))
		h.enqueue(h.loginEvent(users[i]))
	}
	return users
}

// loginEvent is the realistic post-login fixture, moved to u and to now: the first
// password login after the reset.
func (h *harness) loginEvent(u auth0test.User) event.PostLogin {
	h.t.Helper()
	b, err := os.ReadFile(eventtest.Path(eventtest.Base))
	if err != nil {
		h.t.Fatal(err)
	}
	ev, err := event.Decode(b)
	if err != nil {
		h.t.Fatalf("decode fixture: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	reset := u.LastPasswordReset
	ev.Timestamp = now
	ev.Data.Connection.Name = u.Connection
	ev.Data.Authentication.Methods = []event.AuthMethod{{Name: "pwd", Timestamp: now}}
	ev.Data.User = event.User{UserID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt, LastPasswordReset: &reset}
	return ev
}

// enqueue takes ev in the way the receiver does (one Ingest of the event body under a
// fresh webhook id) and returns the webhook id.
func (h *harness) enqueue(ev event.PostLogin) string {
	h.t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := event.Decode(body); err != nil {
		h.t.Fatalf("the event the test built does not decode: %v", err)
	}
	id := webhook.NewMessageID()
	res, err := h.rdb.Ingest(h.t.Context(), store.IngestRequest{WebhookID: id, UserID: ev.Data.User.UserID, ReplayTTL: 10 * time.Minute, Payload: body})
	if err != nil || res.Status != store.IngestQueued {
		h.t.Fatalf("ingest: %+v, %v; want queued", res, err)
	}
	return id
}

// read takes the next job as consumer, the way a worker's Read does.
func (h *harness) read(consumer string) store.Job {
	h.t.Helper()
	jobs, err := h.rdb.Read(h.t.Context(), consumer, 1, 0)
	if err != nil || len(jobs) != 1 {
		h.t.Fatalf("read a job: %d jobs, %v; want 1", len(jobs), err)
	}
	return jobs[0]
}

func (h *harness) record(userID string) store.Record {
	h.t.Helper()
	rec, err := h.rdb.Get(h.t.Context(), userID)
	if err != nil {
		h.t.Fatalf("get record: %v", err)
	}
	return rec
}

// waitStatus waits until the user's record has status and returns it.
func (h *harness) waitStatus(userID, status string) store.Record {
	h.t.Helper()
	var rec store.Record
	h.waitFor("record status "+status, func() (bool, string) {
		var err error
		rec, err = h.rdb.Get(h.t.Context(), userID)
		return err == nil && rec.Status == status, fmt.Sprintf("%+v %v", rec, err)
	})
	return rec
}

// trail is the user's audit trail, oldest first.
func (h *harness) trail(userID string) []store.AuditEntry {
	h.t.Helper()
	entries, err := h.rdb.Audit(h.t.Context(), userID, 100)
	if err != nil {
		h.t.Fatalf("audit: %v", err)
	}
	slices.Reverse(entries)
	return entries
}

// outcomes lists the user's audit trail, oldest first.
func (h *harness) outcomes(userID string) []string {
	h.t.Helper()
	var out []string
	for _, e := range h.trail(userID) {
		out = append(out, e.Outcome)
	}
	return out
}

// apiCalls counts the Management API calls with method on users (any method when empty),
// and of those, the ones answered with status (any when 0).
func (h *harness) apiCalls(method string, status int) int {
	n := 0
	for _, c := range h.tenant.Calls() {
		if strings.HasPrefix(c.Path, "/api/v2/users/") && (method == "" || c.Method == method) && (status == 0 || c.Status == status) {
			n++
		}
	}
	return n
}

// queueEmpty reports whether no job is left anywhere: none to read, none pending in the
// group, none waiting for a retry however far ahead.
func (h *harness) queueEmpty() (bool, string) {
	ctx := h.t.Context()
	moved, err := h.rdb.MoveDue(ctx, time.Now().Add(24*time.Hour), 0)
	if err != nil {
		return false, err.Error()
	}
	jobs, err := h.rdb.Read(ctx, "inspector", 10, 0)
	if err != nil {
		return false, err.Error()
	}
	stuck, err := h.rdb.Reclaim(ctx, "inspector", 0, 10)
	if err != nil {
		return false, err.Error()
	}
	return moved+len(jobs)+len(stuck) == 0, fmt.Sprintf("%d delayed, %d queued, %d held", moved, len(jobs), len(stuck))
}

// deleteUser deletes a user through the Management API, as an administrator would: with a
// token of its own that carries delete:users, which mailproof's grant lacks.
func (h *harness) deleteUser(id string) {
	h.t.Helper()
	granted := h.tenant.Scopes()
	h.tenant.SetScopes(append(slices.Clone(granted), "delete:users"))
	defer h.tenant.SetScopes(granted)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTrusting(h.tenant)}, Timeout: 5 * time.Second}
	cc := clientcredentials.Config{
		ClientID: h.tenant.ClientID(), ClientSecret: h.tenant.ClientSecret(), TokenURL: h.tenant.URL() + "/oauth/token",
		EndpointParams: map[string][]string{"audience": {h.tenant.URL() + "/api/v2/"}},
	}
	c := cc.Client(context.WithValue(h.t.Context(), oauth2.HTTPClient, hc))
	req, _ := http.NewRequestWithContext(h.t.Context(), http.MethodDelete, h.tenant.URL()+"/api/v2/users/"+id, nil)
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("delete user: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		h.t.Fatalf("delete user: status %d, want 204", resp.StatusCode)
	}
}

func tlsTrusting(tenant *auth0test.Tenant) *tls.Config {
	return &tls.Config{RootCAs: tenant.CertPool(), MinVersion: tls.VersionTLS12}
}
