package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

// PostLoginPath is where the receiver takes the Action's events: the route, the URL
// action deploy gives the Action, and what the CLI's demo and sign post to.
const PostLoginPath = "/v1/events/post-login"

// Ingester records a verified event in one atomic step: replay mark, pending lookup and
// enqueue. store.Ingester implements it.
type Ingester interface {
	Ingest(ctx context.Context, in store.IngestRequest) (store.IngestResult, error)
}

// PostLoginConfig holds what the post-login receiver needs besides its collaborators.
// Zero fields take DefaultPostLoginConfig's values.
type PostLoginConfig struct {
	// BodyLimit is the largest body taken in, bytes (MAILPROOF_BODY_LIMIT).
	BodyLimit int64
	// ReplayTTL is how long a webhook id is remembered: at least twice the signature
	// tolerance, since a timestamp may be that far off in either direction.
	ReplayTTL time.Duration
	// RedisTimeout bounds the one Redis round trip (MAILPROOF_REDIS_TIMEOUT).
	RedisTimeout time.Duration
}

// DefaultPostLoginConfig is the receiver of the README's defaults: 64 KiB bodies, ids
// remembered for twice the 5-minute tolerance plus a minute, a 1 s Redis deadline.
func DefaultPostLoginConfig() PostLoginConfig {
	return PostLoginConfig{
		BodyLimit:    64 << 10,
		ReplayTTL:    2*webhook.DefaultTolerance + time.Minute,
		RedisTimeout: time.Second,
	}
}

// PostLogin ingests one signed post-login event: verify, decode, then one Redis round
// trip. It answers within RedisTimeout even when Redis hangs, because the Action waits on
// this answer inside somebody's login. Like Echo's middleware it fills zero settings with
// the defaults and panics on a negative one or a missing collaborator: a configuration
// that would answer every event 413 or 503 must fail at start-up, not at the first login.
func PostLogin(cfg PostLoginConfig, v *webhook.Verifier, in Ingester, m *Metrics, log *zap.Logger) echo.HandlerFunc {
	d := DefaultPostLoginConfig()
	cfg.BodyLimit = cmp.Or(cfg.BodyLimit, d.BodyLimit)
	cfg.ReplayTTL = cmp.Or(cfg.ReplayTTL, d.ReplayTTL)
	cfg.RedisTimeout = cmp.Or(cfg.RedisTimeout, d.RedisTimeout)
	switch {
	case cfg.BodyLimit < 0 || cfg.ReplayTTL < 0 || cfg.RedisTimeout < 0:
		panic(fmt.Sprintf("handlers: PostLogin with a negative setting: %+v", cfg))
	case v == nil || in == nil || m == nil || log == nil:
		panic("handlers: PostLogin needs a verifier, an ingester, metrics and a logger")
	}
	bufs := new(buffers)
	return func(c echo.Context) error {
		start := time.Now()
		outcome, err := postLogin(c, cfg, v, in, m, log, bufs)
		m.observeEvent(outcome, time.Since(start).Seconds())
		return err
	}
}

func postLogin(c echo.Context, cfg PostLoginConfig, v *webhook.Verifier, in Ingester, m *Metrics, log *zap.Logger, bufs *buffers) (string, error) {
	req := c.Request()
	if !isJSON(req.Header.Get(echo.HeaderContentType)) {
		return CodeUnsupportedMediaType, NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	if req.ContentLength > cfg.BodyLimit { // declared too large: refused unread
		return bodyTooLarge()
	}
	// The decoded event holds copies of its strings, so the body's buffer is free
	// again once the request ends, whatever the outcome.
	bodyBuf := bufs.get()
	defer bufs.put(bodyBuf)
	body, err := appendBody(*bodyBuf, req.Body, req.ContentLength, cfg.BodyLimit)
	if body != nil {
		*bodyBuf = body
	}
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return bodyTooLarge()
		}
		return CodeBadRequest, NewError(http.StatusBadRequest, CodeBadRequest, "could not read the request body").WithInternal(err)
	}
	// Nothing is parsed before the signature holds: the body is only hashed here.
	// Canonical header names: Header.Get would allocate a canonical copy of each
	// lower-case name on every request.
	webhookID := req.Header.Get("Webhook-Id")
	keyID, err := v.Verify(webhookID, req.Header.Get("Webhook-Timestamp"), req.Header.Get("Webhook-Signature"), body)
	if err != nil {
		var se *webhook.SignatureError
		if !errors.As(err, &se) {
			return webhook.OutcomeInvalidSignature, NewError(http.StatusUnauthorized, webhook.OutcomeInvalidSignature, "the signature does not verify").WithInternal(err)
		}
		m.signatureFailures.WithLabelValues(se.Reason).Inc()
		return se.Outcome(), NewError(http.StatusUnauthorized, se.Outcome(), se.Hint()).WithInternal(err)
	}
	m.keyMatched(keyID)
	ev, err := event.Decode(body)
	if err != nil {
		return CodeInvalidEvent, NewError(http.StatusBadRequest, CodeInvalidEvent, err.Error())
	}
	// The sender hanging up must not cancel the write: the event is signed and valid,
	// and once recorded a retry answers duplicate. RedisTimeout alone bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), cfg.RedisTimeout)
	defer cancel()
	payload := bufs.get()
	*payload = ev.AppendJobPayload(*payload)
	res, err := in.Ingest(ctx, store.IngestRequest{
		WebhookID: webhookID,
		UserID:    ev.Data.User.UserID,
		ReplayTTL: cfg.ReplayTTL,
		Payload:   *payload,
	})
	if errors.Is(err, store.ErrReplicas) {
		// The master applied the write; only its replicas did not confirm it in time. The
		// 503 is still right: the write may die with the master. A retry of this event (same
		// webhook id) is safe either way: where the write survived it answers duplicate
		// once confirmed, where it was lost it is queued anew; it is never queued twice.
		log.Error("could not confirm a post-login event on enough Redis replicas (MAILPROOF_REDIS_MIN_REPLICAS); answered 503. The login proceeded unverified unless a retry is accepted. Check the Redis master's replicas: INFO replication (connected_slaves, lag), /readyz",
			zap.String("user_id", ev.Data.User.UserID), zap.Error(err))
		return CodeUnavailable, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the event store could not confirm the event on enough replicas; retry later").WithInternal(err)
	}
	if err != nil {
		log.Error("could not record a post-login event: Redis unavailable. The login proceeded unverified; the user's next password login will be tried again. Check Redis (MAILPROOF_REDIS_URL, /readyz)",
			zap.String("user_id", ev.Data.User.UserID), zap.Error(err))
		return CodeUnavailable, NewError(http.StatusServiceUnavailable, CodeUnavailable, "the event store is unavailable; retry later").WithInternal(err)
	}
	bufs.put(payload) // only now: after an error a batch in flight may still be sending it

	switch res.Status {
	case store.IngestQueued:
		log.Info("login queued for verification", zap.String("user_id", ev.Data.User.UserID), zap.String("job_id", res.JobID), zap.String("key_id", keyID))
		return store.IngestQueued, c.JSONBlob(http.StatusAccepted, queuedAnswer(res.JobID))
	case store.IngestDuplicate:
		return store.IngestDuplicate, c.JSONBlob(http.StatusOK, answerDuplicate)
	default:
		return store.IngestNotPending, c.JSONBlob(http.StatusOK, answerNotPending)
	}
}

// The success answers are written as bytes, byte for byte what c.JSON would write,
// rather than encoded by reflection again on every request of the hottest path.
var (
	answerDuplicate  = []byte(`{"status":"` + store.IngestDuplicate + `"}` + "\n")
	answerNotPending = []byte(`{"status":"ignored","reason":"` + store.IngestNotPending + `"}` + "\n")
)

// queuedAnswer is {"status":"queued","job_id":…}. A Redis stream id is digits and one
// dash, which need no JSON escaping; anything else goes through encoding/json.
func queuedAnswer(jobID string) []byte {
	if strings.Trim(jobID, "0123456789-") != "" {
		b, _ := json.Marshal(struct {
			Status string `json:"status"`
			JobID  string `json:"job_id"`
		}{store.IngestQueued, jobID})
		return append(b, '\n')
	}
	b := make([]byte, 0, 48)
	b = append(b, `{"status":"`+store.IngestQueued+`","job_id":"`...)
	b = append(b, jobID...)
	return append(b, "\"}\n"...)
}

func isJSON(ct string) bool {
	if ct == echo.MIMEApplicationJSON { // what the Action sends; ParseMediaType allocates
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

var errTooLarge = errors.New("body over the limit")

func bodyTooLarge() (string, error) {
	return CodeBodyTooLarge, NewError(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "the event is over the body size limit")
}

// readBody reads at most limit bytes; one more byte means the body is too large. The
// middleware's limit covers the whole listener, this one is the receiver's own.
func readBody(r io.Reader, declared, limit int64) ([]byte, error) {
	return appendBody(nil, r, declared, limit)
}

// appendBody is readBody into b's spare capacity (b's contents are dropped). A declared
// length within the limit sizes a new buffer once: io.ReadAll's doubling from 512 bytes
// was an eighth of everything a request allocated.
func appendBody(b []byte, r io.Reader, declared, limit int64) ([]byte, error) {
	size := int64(512)
	if declared >= 0 && declared <= limit {
		size = declared + 1 // room to see a body longer than declared
	}
	if int64(cap(b)) < size {
		b = make([]byte, 0, size)
	}
	b = b[:0]
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return nil, errTooLarge
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(int64(cap(b)), limit+1-int64(len(b)))))
		}
	}
}

// buffers recycles the two byte slices of every post-login request, the body and the job
// payload: together about 1.7 KB of the 3.6 KB the handler allocated per request, for a
// typical event.
type buffers struct{ pool sync.Pool }

// maxPooledBuffer keeps a rare large body from pinning its buffer in the pool.
const maxPooledBuffer = 16 << 10

func (b *buffers) get() *[]byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return p
	}
	return new([]byte)
}

func (b *buffers) put(p *[]byte) {
	if cap(*p) > maxPooledBuffer {
		return
	}
	*p = (*p)[:0]
	b.pool.Put(p)
}
