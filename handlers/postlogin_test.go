package handlers

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
	"github.com/mailproof/mailproof/webhook"
)

const (
	receiverNow   = 1764000000 // the receiver's injected clock, Unix seconds
	fixtureUser   = "auth0|6560c1f2e4b0a1b2c3d4e5f6"
	fixtureFile   = "first-login-after-reset.json"
	receiverLimit = 64 << 10
	rotatedSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
	// symmetricSecret is the published Standard Webhooks test secret.
	symmetricSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// The published ed25519 test pair.
	asymmetricSecret = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	asymmetricPublic = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
	jobStreamKey     = "mp:{mp}:jobs" // store/doc.go
)

// receiver is PostLogin on a bare Echo instance over a real Redis, with the batched
// Ingester as run.go wires it. fixtureUser is pending.
type receiver struct {
	e        *echo.Echo
	store    *store.Redis
	verifier *webhook.Verifier
	ingester *store.Ingester
}

func newReceiver(t *testing.T, keys ...string) *receiver {
	t.Helper()
	r, err := store.Open(t.Context(), redistest.URL(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	in := store.NewIngester(r, 0)
	t.Cleanup(in.Close) // before r.Close: cleanups run last-in first-out
	v, err := webhook.NewVerifier(keys, 0, func() time.Time { return time.Unix(receiverNow, 0) })
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry(), v.KeyIDs())
	e := echo.New()
	e.HTTPErrorHandler = writeErrorBody
	e.POST(PostLoginPath, PostLogin(PostLoginConfig{
		BodyLimit: receiverLimit, ReplayTTL: 11 * time.Minute, RedisTimeout: time.Second,
	}, v, in, m, zaptest.NewLogger(t)))
	rc := &receiver{e: e, store: r, verifier: v, ingester: in}
	rc.putPending(t, fixtureUser)
	return rc
}

// writeErrorBody is the JSON error shape of server's error handler, reduced to what
// these tests need: the code and message of a handlers.Error, or the default for a status.
func writeErrorBody(err error, c echo.Context) {
	status, body := http.StatusInternalServerError, Error{}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		body, _ = he.Message.(Error)
	}
	if body.Code == "" {
		body.Code, body.Message = DefaultCode(status)
	}
	_ = c.JSON(status, ErrorBody{Error: body})
}

func (rc *receiver) putPending(t *testing.T, userID string) {
	t.Helper()
	err := rc.store.PutPending(t.Context(), store.Record{UserID: userID, Email: "ada@example.com",
		Connection: "Username-Password-Authentication", ProvisionedAt: time.Unix(receiverNow-86400, 0)})
	if err != nil {
		t.Fatalf("put pending: %v", err)
	}
}

// delivery is one request as the Action sends it; an empty field is an absent header.
type delivery struct {
	id, ts, sig, contentType string
	body                     []byte
}

// signed signs body with secret at the receiver's clock plus skew, under a fresh id.
func signed(t *testing.T, secret string, body []byte, skew time.Duration) delivery {
	t.Helper()
	return signedAs(t, webhook.NewMessageID(), secret, body, skew)
}

// signedAs is signed under a given id, as a retried delivery is.
func signedAs(t *testing.T, id, secret string, body []byte, skew time.Duration) delivery {
	t.Helper()
	at := time.Unix(receiverNow, 0).Add(skew)
	sig, err := webhook.Sign(secret, id, at, body)
	if err != nil {
		t.Fatal(err)
	}
	return delivery{id: id, ts: strconv.FormatInt(at.Unix(), 10), sig: sig, contentType: "application/json", body: body}
}

// ingestAnswer is either answer shape of the receiver.
type ingestAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	JobID  string `json:"job_id"`
	Error  *Error `json:"error"`
}

func (d delivery) request(ctx context.Context) *http.Request {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/events/post-login", bytes.NewReader(d.body))
	for k, v := range map[string]string{"content-type": d.contentType, "webhook-id": d.id, "webhook-timestamp": d.ts, "webhook-signature": d.sig} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return req
}

func (rc *receiver) jobs(t *testing.T) int64 {
	t.Helper()
	n, err := rc.store.Client().XLen(t.Context(), jobStreamKey).Result()
	if err != nil {
		t.Fatalf("xlen: %v", err)
	}
	return n
}

// marked reports whether the replay guard holds webhook id.
func (rc *receiver) marked(t *testing.T, id string) bool {
	t.Helper()
	left, err := rc.store.ReplayMark(t.Context(), id, time.Hour)
	if err != nil {
		t.Fatalf("replay mark: %v", err)
	}
	return left > 0
}

// ingestWant is what one delivery must produce: an error code, or an answer status.
type ingestWant struct {
	status       int
	code, msg    string // error.code, and a part of error.message
	answer       string // status of a success answer
	reason       string // reason of an ignored answer
	queued, mark bool   // one job added; the replay guard holds the id
}

// deliver sends d and checks the answer and every trace it may leave in Redis: the job
// stream grows by exactly one job carrying the raw body, or not at all, and the replay
// mark exists only where the event was taken in.
func (rc *receiver) deliver(t *testing.T, name string, d delivery, markID string, w ingestWant) {
	t.Helper()
	before := rc.jobs(t)
	rec := httptest.NewRecorder()
	rc.e.ServeHTTP(rec, d.request(t.Context()))
	var a ingestAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Errorf("%s: answer %q is not JSON: %v", name, rec.Body, err)
	}
	if rec.Code != w.status {
		t.Errorf("%s: status %d, want %d (answer %+v %+v)", name, rec.Code, w.status, a, a.Error)
	}
	switch {
	case w.code != "" && a.Error == nil:
		t.Errorf("%s: answer %+v, want error %q", name, a, w.code)
	case w.code != "" && (a.Error.Code != w.code || !strings.Contains(a.Error.Message, w.msg) || a.Error.Message == ""):
		t.Errorf("%s: error %+v, want code %q and a message containing %q", name, *a.Error, w.code, w.msg)
	case w.code == "" && (a.Status != w.answer || a.Reason != w.reason || a.Error != nil):
		t.Errorf("%s: answer %+v, want status %q reason %q", name, a, w.answer, w.reason)
	}
	wantJobs := before
	if w.queued {
		wantJobs++
	}
	if got := rc.jobs(t); got != wantJobs {
		t.Errorf("%s: job stream length %d, want %d", name, got, wantJobs)
	}
	if got := rc.marked(t, markID); got != w.mark {
		t.Errorf("%s: replay mark exists %v, want %v", name, got, w.mark)
	}
	if !w.queued {
		return
	}
	msgs, err := rc.store.Client().XRevRangeN(t.Context(), jobStreamKey, "+", "-", 1).Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%s: last job: %v, %d entries", name, err, len(msgs))
	}
	ev, err := event.Decode(d.body)
	if err != nil {
		t.Fatalf("%s: queued a body that does not decode: %v", name, err)
	}
	want := string(ev.AppendJobPayload(nil))
	if m := msgs[0]; m.ID != a.JobID || m.Values["payload"] != want || m.Values["webhook_id"] != markID {
		t.Errorf("%s: job %s webhook_id %v, payload %q; want job %s, webhook_id %s, payload %q",
			name, m.ID, m.Values["webhook_id"], m.Values["payload"], a.JobID, markID, want)
	}
}

// padded is the fixture with a data.pad member sized so the body is exactly size bytes.
func padded(t *testing.T, size int) []byte {
	t.Helper()
	b := eventtest.With(t, "data.pad", strings.Repeat("x", size-len(eventtest.With(t, "data.pad", ""))))
	if len(b) != size {
		t.Fatalf("padded body is %d bytes, want %d", len(b), size)
	}
	return b
}

// postLoginCase is one delivery: the fixture signed now with symmetricSecret, unless
// the row says otherwise, then changed by mut after signing.
type postLoginCase struct {
	name   string
	secret string
	body   []byte
	skew   time.Duration // signing time minus the receiver's clock
	mut    func(*delivery)
	want   ingestWant
}

func TestPostLogin(t *testing.T) {
	rc := newReceiver(t, symmetricSecret)
	const oddPending = "auth0|y}:{mp}:pending:eA" // key syntax, and pending
	rc.putPending(t, oddPending)
	fixture := eventtest.Read(t, fixtureFile)
	huge := eventtest.Raw(t, `"stats": {`, `"roles": [`+strings.Repeat(`{"n": 1}, `, 6000)+`{}], "stats": {`)
	if len(huge) > receiverLimit || len(huge) < receiverLimit*3/4 {
		t.Fatalf("huge body is %d bytes, want just under %d", len(huge), receiverLimit)
	}
	var (
		unauthorized = func(msg string) ingestWant { return ingestWant{status: 401, code: "invalid_signature", msg: msg} }
		invalid      = func(msg string) ingestWant { return ingestWant{status: 400, code: "invalid_event", msg: msg} }
		queued       = ingestWant{status: 202, answer: "queued", queued: true, mark: true}
		ignored      = ingestWant{status: 200, answer: "ignored", reason: "not_pending", mark: true}
	)
	tests := []postLoginCase{
		{name: "pending user", want: queued},
		{name: "charset parameter", mut: func(d *delivery) { d.contentType = "application/json; charset=utf-8" }, want: queued},
		{name: "not pending", body: eventtest.With(t, "data.user.user_id", "auth0|nobody"), want: ignored},
		{name: "user id in key syntax", body: eventtest.With(t, "data.user.user_id", "auth0|x}:{mp}:jobs"), want: ignored},
		{name: "user id in key syntax, pending", body: eventtest.With(t, "data.user.user_id", oddPending), want: queued},
		{name: "body at the limit", body: padded(t, receiverLimit), want: queued},
		{name: "huge JSON under the limit", body: huge, want: queued},
		{name: "4:59 old", skew: -299 * time.Second, want: queued},
		{name: "missing webhook-id", mut: func(d *delivery) { d.id = "" }, want: unauthorized("headers are required")},
		{name: "missing webhook-timestamp", mut: func(d *delivery) { d.ts = "" }, want: unauthorized("headers are required")},
		{name: "missing webhook-signature", mut: func(d *delivery) { d.sig = "" }, want: unauthorized("headers are required")},
		{name: "malformed webhook-id", mut: func(d *delivery) { d.id = "msg." + d.id }, want: unauthorized("webhook-id must be")},
		{name: "malformed webhook-timestamp", mut: func(d *delivery) { d.ts = "+" + d.ts }, want: unauthorized("webhook-timestamp must be")},
		{name: "malformed webhook-signature", mut: func(d *delivery) { d.sig = "v1,abc" }, want: unauthorized("webhook-signature must be")},
		{name: "wrong secret", secret: rotatedSecret, want: unauthorized("no signature matches")},
		{name: "body changed by one byte", mut: func(d *delivery) { d.body = bytes.Replace(d.body, []byte("ada@"), []byte("adb@"), 1) }, want: unauthorized("no signature matches")},
		{name: "signature of another id", mut: func(d *delivery) { d.id = webhook.NewMessageID() }, want: unauthorized("no signature matches")},
		{name: "6 minutes old", skew: -6 * time.Minute, want: ingestWant{status: 401, code: "stale_timestamp", msg: "outside the accepted window"}},
		{name: "6 minutes ahead", skew: 6 * time.Minute, want: ingestWant{status: 401, code: "stale_timestamp", msg: "outside the accepted window"}},
		{name: "one byte over the limit", body: padded(t, receiverLimit+1), want: ingestWant{status: 413, code: "body_too_large", msg: "size limit"}},
		{name: "text/plain", mut: func(d *delivery) { d.contentType = "text/plain" }, want: ingestWant{status: 415, code: "unsupported_media_type", msg: "application/json"}},
		{name: "no content type", mut: func(d *delivery) { d.contentType = "" }, want: ingestWant{status: 415, code: "unsupported_media_type", msg: "application/json"}},
		{name: "application/jsonx", mut: func(d *delivery) { d.contentType = "application/jsonx" }, want: ingestWant{status: 415, code: "unsupported_media_type", msg: "application/json"}},
		{name: "invalid JSON", body: []byte(`{"type":`), want: invalid("is not valid JSON")},
		{name: "empty body", body: []byte{}, want: invalid("is not valid JSON")},
		{name: "array", body: []byte(`[{"type":"auth0.post_login"}]`), want: invalid("must be a JSON object")},
		{name: "string", body: []byte(`"auth0.post_login"`), want: invalid("must be a JSON object")},
		{name: "unknown type", body: eventtest.With(t, "type", "auth0.post_change_password"), want: invalid("type unknown event type")},
		{name: "email_verified a string", body: eventtest.With(t, "data.user.email_verified", "false"), want: invalid("data.user.email_verified must be a boolean")},
		{name: "user_id a number", body: eventtest.With(t, "data.user.user_id", 42), want: invalid("data.user.user_id must be a string")},
		{name: "methods an object", body: eventtest.With(t, "data.authentication.methods", map[string]any{}), want: invalid("data.authentication.methods must be an array")},
		{name: "timestamp a number", body: eventtest.With(t, "timestamp", receiverNow), want: invalid("timestamp must be an RFC 3339 time")},
		{name: "nested 1000 deep", body: eventtest.With(t, "data.extra", eventtest.Nested(1000)), want: invalid("nests deeper than 32 levels")},
		{name: "array nested 1000 deep", body: []byte(strings.Repeat("[", 1000) + strings.Repeat("]", 1000)), want: invalid("nests deeper than 32 levels")},
		{name: "not UTF-8", body: eventtest.Raw(t, `"ada@example.com"`, "\"ada\xff@example.com\""), want: invalid("is not valid UTF-8")},
		{name: "user id with a newline", body: eventtest.With(t, "data.user.user_id", "auth0|x}:{mp}:jobs\n"), want: invalid("data.user.user_id must not contain control characters")},
		// Nothing is parsed before the signature holds: a bad body under a bad signature
		// is a signature failure, never a decoding one.
		{name: "invalid JSON, wrong secret", secret: rotatedSecret, body: []byte(`{"type":`), want: unauthorized("no signature matches")},
		{name: "nested 1000 deep, wrong secret", secret: rotatedSecret, body: eventtest.With(t, "data.extra", eventtest.Nested(1000)), want: unauthorized("no signature matches")},
		{name: "not UTF-8, wrong secret", secret: rotatedSecret, body: eventtest.Raw(t, `"ada@example.com"`, "\"ada\xff@example.com\""), want: unauthorized("no signature matches")},
	}
	for _, f := range []string{"type", "timestamp", "data", "data.connection", "data.connection.name", "data.connection.strategy",
		"data.authentication", "data.authentication.methods", "data.user", "data.user.user_id", "data.user.email", "data.user.email_verified"} {
		tests = append(tests, postLoginCase{name: "without " + f, body: eventtest.Without(t, f), want: invalid(f + " is required")})
	}
	for _, tc := range tests {
		secret, body := cmp.Or(tc.secret, symmetricSecret), tc.body
		if body == nil {
			body = fixture
		}
		d := signed(t, secret, body, tc.skew)
		id := d.id
		if tc.mut != nil {
			tc.mut(&d)
		}
		rc.deliver(t, tc.name, d, id, tc.want)
	}
	assertKeyShapes(t, rc.store)
}

// assertKeyShapes fails for any key in the database that store/doc.go does not
// document, such as one forged from a user id; <enc> there is unpadded base64url.
func assertKeyShapes(t *testing.T, r *store.Redis) {
	t.Helper()
	keyShapes := regexp.MustCompile(`^(mp:\{mp\}:(pending:[A-Za-z0-9_-]+|email:[A-Za-z0-9_-]+|emails:[0-9]+:[0-9]+|email-weeks|waiting:[0-9]+|records:[0-9]+|tidy|layout|replay:[A-Za-z0-9_-]+|seen:[0-9]+:[0-9]+|jobs|delayed|dlq|audit|audit:[A-Za-z0-9_-]+|trail:[0-9]+:[0-9]+|ratelimit-pause)|rate:mp:\{mp\}:ratelimit)$`)
	var n int
	iter := r.Client().Scan(t.Context(), 0, "*", 100).Iterator()
	for iter.Next(t.Context()) {
		n++
		if !keyShapes.MatchString(iter.Val()) {
			t.Errorf("key %q is not one of the shapes store/doc.go documents", iter.Val())
		}
	}
	if err := iter.Err(); err != nil || n == 0 {
		t.Fatalf("scan: %v, %d keys", err, n)
	}
}

func TestPostLoginReplay(t *testing.T) {
	rc := newReceiver(t, symmetricSecret)
	fixture := eventtest.Read(t, fixtureFile)
	queued := ingestWant{status: 202, answer: "queued", queued: true, mark: true}
	duplicate := ingestWant{status: 200, answer: "duplicate", mark: true}
	tests := []struct {
		name        string
		first, then []byte
		firstWant   ingestWant
		thenWant    ingestWant
	}{
		{name: "queued event again", first: fixture, then: fixture, firstWant: queued, thenWant: duplicate},
		{name: "ignored event again", first: eventtest.With(t, "data.user.user_id", "auth0|nobody"), then: eventtest.With(t, "data.user.user_id", "auth0|nobody"),
			firstWant: ingestWant{status: 200, answer: "ignored", reason: "not_pending", mark: true}, thenWant: duplicate},
		{name: "same id, other body", first: fixture, then: eventtest.With(t, "data.stats.logins_count", 2), firstWant: queued, thenWant: duplicate},
		{name: "rejected event is not remembered", first: eventtest.Without(t, "data.user"), then: fixture,
			firstWant: ingestWant{status: 400, code: "invalid_event", msg: "data.user is required"}, thenWant: queued},
	}
	for _, tc := range tests {
		id := webhook.NewMessageID()
		rc.deliver(t, tc.name+", first delivery", signedAs(t, id, symmetricSecret, tc.first, 0), id, tc.firstWant)
		rc.deliver(t, tc.name+", second delivery", signedAs(t, id, symmetricSecret, tc.then, time.Second), id, tc.thenWant)
	}
}

// TestPostLoginKeys covers the keys a receiver may hold at once; which key matched is
// counted in mailproof_signature_key_matches_total (server's TestIngestMetrics).
func TestPostLoginKeys(t *testing.T) {
	tests := []struct {
		name     string
		keys     []string
		signWith string
		wantSigV string
	}{
		{name: "rotation: the second secret", keys: []string{symmetricSecret, rotatedSecret}, signWith: rotatedSecret, wantSigV: "v1,"},
		{name: "rotation: the first secret", keys: []string{symmetricSecret, rotatedSecret}, signWith: symmetricSecret, wantSigV: "v1,"},
		{name: "ed25519 public key", keys: []string{symmetricSecret, asymmetricPublic}, signWith: asymmetricSecret, wantSigV: "v1a,"},
	}
	for _, tc := range tests {
		rc := newReceiver(t, tc.keys...)
		d := signed(t, tc.signWith, eventtest.Read(t, fixtureFile), 0)
		if !strings.HasPrefix(d.sig, tc.wantSigV) {
			t.Fatalf("%s: signature %q, want a %s entry", tc.name, d.sig, tc.wantSigV)
		}
		rc.deliver(t, tc.name, d, d.id, ingestWant{status: 202, answer: "queued", queued: true, mark: true})
	}
}

// hangUp is an Ingester that holds the write until the sender has hung up, then
// fails the way a write cancelled by that would.
type hangUp struct{ writing, gone chan struct{} }

func (h hangUp) Ingest(ctx context.Context, _ store.IngestRequest) (store.IngestResult, error) {
	close(h.writing)
	<-h.gone
	if _, ok := ctx.Deadline(); !ok {
		return store.IngestResult{}, errors.New("no deadline: RedisTimeout does not bound the write")
	}
	return store.IngestResult{Status: store.IngestQueued, JobID: "1-0"}, ctx.Err()
}

// TestPostLoginSenderHangsUp: a sender that gives up (the Action's own timeout) while
// the event is being written does not cancel the write; only RedisTimeout bounds it.
func TestPostLoginSenderHangsUp(t *testing.T) {
	v, err := webhook.NewVerifier([]string{symmetricSecret}, 0, func() time.Time { return time.Unix(receiverNow, 0) })
	if err != nil {
		t.Fatal(err)
	}
	h := hangUp{writing: make(chan struct{}), gone: make(chan struct{})}
	handler := PostLogin(PostLoginConfig{BodyLimit: receiverLimit, ReplayTTL: time.Minute, RedisTimeout: time.Minute},
		v, h, NewMetrics(prometheus.NewRegistry(), v.KeyIDs()), zaptest.NewLogger(t))
	ctx, hangUpNow := context.WithCancel(t.Context())
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(signed(t, symmetricSecret, eventtest.Read(t, fixtureFile), 0).request(ctx), rec)
	done := make(chan error, 1)
	go func() { done <- handler(c) }()
	<-h.writing
	hangUpNow()
	close(h.gone)
	if err := <-done; err != nil || rec.Code != http.StatusAccepted {
		t.Errorf("sender hung up mid-write: error %v, status %d; want the event recorded (202)", err, rec.Code)
	}
}

// TestReadBody: the declared length only sizes the buffer; what is read decides.
func TestReadBody(t *testing.T) {
	const limit = 100
	tests := []struct {
		name         string
		size         int
		declared     int64
		wantTooLarge bool
	}{
		{"declared exactly", 60, 60, false},
		{"undeclared", 60, -1, false},
		{"undeclared, over 512", limit, -1, false},
		{"declared short", 60, 10, false},
		{"declared long", 60, 90, false},
		{"declared over the limit", 60, 1 << 40, false},
		{"empty", 0, 0, false},
		{"at the limit", limit, limit, false},
		{"one over, declared", limit + 1, limit + 1, true},
		{"one over, declared short", limit + 1, 10, true},
		{"one over, undeclared", limit + 1, -1, true},
		{"far over, declared at the limit", 10 * limit, limit, true},
	}
	for _, tc := range tests {
		body := bytes.Repeat([]byte{'x'}, tc.size)
		// iotest.HalfReader returns short reads, as a network connection does.
		got, err := readBody(iotest.HalfReader(bytes.NewReader(body)), tc.declared, limit)
		switch {
		case tc.wantTooLarge && !errors.Is(err, errTooLarge):
			t.Errorf("%s: %d bytes, %v; want errTooLarge", tc.name, len(got), err)
		case !tc.wantTooLarge && (err != nil || !bytes.Equal(got, body)):
			t.Errorf("%s: %d bytes, %v; want the %d bytes back", tc.name, len(got), err, tc.size)
		}
	}
}

// TestAnswersMatchEncodingJSON: the answers written as bytes are what c.JSON wrote.
func TestAnswersMatchEncodingJSON(t *testing.T) {
	encode := func(v any) string {
		var b strings.Builder
		if err := json.NewEncoder(&b).Encode(v); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	type answer struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
		JobID  string `json:"job_id,omitempty"`
	}
	for _, id := range []string{"1764000000000-0", "0-1", `odd"id\` + "\n", "ü-1"} {
		if got, want := string(queuedAnswer(id)), encode(answer{Status: "queued", JobID: id}); got != want {
			t.Errorf("queuedAnswer(%q) = %q, want %q", id, got, want)
		}
	}
	if got, want := string(answerDuplicate), encode(answer{Status: "duplicate"}); got != want {
		t.Errorf("duplicate answer %q, want %q", got, want)
	}
	if got, want := string(answerNotPending), encode(answer{Status: "ignored", Reason: "not_pending"}); got != want {
		t.Errorf("not_pending answer %q, want %q", got, want)
	}
}

// TestPostLoginConfigDefaults: zero settings take the defaults, so a zero RedisTimeout
// does not answer every event 503 nor a zero BodyLimit refuse every body; a negative
// setting or a missing collaborator fails at construction.
func TestPostLoginConfigDefaults(t *testing.T) {
	rc := newReceiver(t, symmetricSecret)
	handler := PostLogin(PostLoginConfig{}, rc.verifier, rc.ingester, NewMetrics(prometheus.NewRegistry(), rc.verifier.KeyIDs()), zaptest.NewLogger(t))
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(signed(t, symmetricSecret, eventtest.Read(t, fixtureFile), 0).request(t.Context()), rec)
	if err := handler(c); err != nil || rec.Code != http.StatusAccepted {
		t.Errorf("zero config: status %d, error %v; want 202 (defaults, not a zero deadline or limit)", rec.Code, err)
	}
	for name, build := range map[string]func(){
		"negative body limit": func() {
			PostLogin(PostLoginConfig{BodyLimit: -1}, rc.verifier, rc.ingester, NewMetrics(prometheus.NewRegistry(), nil), zaptest.NewLogger(t))
		},
		"no ingester": func() {
			PostLogin(PostLoginConfig{}, rc.verifier, nil, NewMetrics(prometheus.NewRegistry(), nil), zaptest.NewLogger(t))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: PostLogin did not panic", name)
				}
			}()
			build()
		}()
	}
}
