package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// ingestFunc is what both the direct and the batched path offer.
type ingestFunc func(context.Context, store.IngestRequest) (store.IngestResult, error)

// ingestPaths runs a test once per ingest path.
func ingestPaths(t *testing.T, test func(t *testing.T, r *store.Redis, ingest ingestFunc)) {
	conform(t, func(t *testing.T, b backend) {
		t.Run("direct", func(t *testing.T) {
			r := b.open(t)
			test(t, r, r.Ingest)
		})
		t.Run("batched", func(t *testing.T) {
			r := b.open(t)
			in := store.NewIngester(r, 16)
			t.Cleanup(in.Close)
			test(t, r, in.Ingest)
		})
	})
}

func streamLen(t *testing.T, r *store.Redis, key string) int64 {
	t.Helper()
	n, err := r.Client().XLen(timeout(t), key).Result()
	if err != nil {
		t.Fatalf("xlen %s: %v", key, err)
	}
	return n
}

func TestIngest(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		putPending(t, r, "auth0|pending", time.Now())
		putPending(t, r, "auth0|claimed", time.Now())
		if _, ok, err := r.Claim(timeout(t), "auth0|claimed", "other"); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		tests := []struct {
			name       string
			webhookID  string
			userID     string
			wantStatus string
			wantQueued int64 // stream length after the call
		}{
			{"pending user", "msg_1", "auth0|pending", store.IngestQueued, 1},
			{"replay of the same webhook", "msg_1", "auth0|pending", store.IngestDuplicate, 1},
			{"replay with another user", "msg_1", "auth0|other", store.IngestDuplicate, 1},
			{"unknown user", "msg_2", "auth0|unknown", store.IngestNotPending, 1},
			{"unknown user replayed", "msg_2", "auth0|unknown", store.IngestDuplicate, 1},
			{"user being verified by another event: queued, kept in case that event fails", "msg_3", "auth0|claimed", store.IngestQueued, 2},
			{"second login of pending user", "msg_4", "auth0|pending", store.IngestQueued, 3},
		}
		for _, tc := range tests {
			res, err := ingest(timeout(t), store.IngestRequest{
				WebhookID: tc.webhookID, UserID: tc.userID, ReplayTTL: time.Minute, Payload: []byte(`{"n":1}`),
			})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.Status != tc.wantStatus {
				t.Errorf("%s: status %q, want %q", tc.name, res.Status, tc.wantStatus)
			}
			if (res.JobID != "") != (tc.wantStatus == store.IngestQueued) {
				t.Errorf("%s: job id %q with status %q", tc.name, res.JobID, res.Status)
			}
			if got := streamLen(t, r, "mp:{mp}:jobs"); got != tc.wantQueued {
				t.Errorf("%s: %d jobs queued, want %d", tc.name, got, tc.wantQueued)
			}
		}
	})
}

func TestIngestQueuesTheJobFields(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		payload := []byte("{\"user\":\"x\"}\x00\xff binary-safe")
		for _, tc := range oddIDs {
			putPending(t, r, tc.id, time.Now())
			res, err := ingest(timeout(t), store.IngestRequest{
				WebhookID: "msg|" + tc.id, UserID: tc.id, ReplayTTL: time.Minute, Payload: payload,
			})
			if err != nil || res.Status != store.IngestQueued {
				t.Fatalf("%s: %+v, %v; want queued", tc.name, res, err)
			}
		}
		if err := r.EnsureGroup(timeout(t)); err != nil {
			t.Fatalf("ensure group: %v", err)
		}
		jobs, err := r.Read(timeout(t), "c1", 100, 0)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(jobs) != len(oddIDs) {
			t.Fatalf("read %d jobs, want %d", len(jobs), len(oddIDs))
		}
		for i, tc := range oddIDs {
			j := jobs[i]
			if j.UserID != tc.id || j.WebhookID != "msg|"+tc.id || string(j.Payload) != string(payload) ||
				j.Attempt != 1 || j.Deliveries != 1 || j.EnqueuedAt.IsZero() {
				t.Errorf("%s: job %+v, want the ingested fields, attempt 1", tc.name, j)
			}
		}
	})
}

func TestIngestReplayMarkExpires(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		req := store.IngestRequest{WebhookID: "msg_1", UserID: "auth0|none", ReplayTTL: 1500 * time.Millisecond}
		if _, err := ingest(timeout(t), req); err != nil {
			t.Fatalf("ingest: %v", err)
		}
		// The mark's set lives until its window ends, plus the TTL.
		ok, ttl := store.ReplayMarked(timeout(t), r, "msg_1")
		if !ok || ttl < 1400*time.Millisecond || ttl > store.ReplayWindow+1500*time.Millisecond {
			t.Errorf("replay mark %v, set ttl %v; want marked, ttl in [1.5s, window+1.5s]", ok, ttl)
		}
	})
}

func TestIngestValidates(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		tests := []struct {
			name string
			req  store.IngestRequest
		}{
			{"no webhook id", store.IngestRequest{UserID: "u", ReplayTTL: time.Minute}},
			{"no user id", store.IngestRequest{WebhookID: "w", ReplayTTL: time.Minute}},
			{"no replay ttl", store.IngestRequest{WebhookID: "w", UserID: "u"}},
		}
		for _, tc := range tests {
			if _, err := ingest(timeout(t), tc.req); err == nil {
				t.Errorf("%s: nil error, want one", tc.name)
			}
		}
		if keys := allKeys(t, r); len(keys) != 0 {
			t.Errorf("invalid requests wrote %d keys, want 0", len(keys))
		}
	})
}

// TestIngestConcurrentDuplicates sends every webhook id from several
// goroutines at once: exactly one of each is queued.
func TestIngestConcurrentDuplicates(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		putPending(t, r, "auth0|1", time.Now())
		const events, senders = 50, 8
		var mu sync.Mutex
		queued := map[string]int{}
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for i := range events {
					res, err := ingest(timeout(t), store.IngestRequest{
						WebhookID: fmt.Sprintf("msg_%d", i), UserID: "auth0|1", ReplayTTL: time.Minute,
					})
					if err != nil {
						t.Errorf("ingest: %v", err)
						return
					}
					if res.Status == store.IngestQueued {
						mu.Lock()
						queued[fmt.Sprint(i)]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if len(queued) != events {
			t.Errorf("%d events queued, want %d", len(queued), events)
		}
		for id, n := range queued {
			if n != 1 {
				t.Errorf("event %s queued %d times, want once", id, n)
			}
		}
		if got := streamLen(t, r, "mp:{mp}:jobs"); got != events {
			t.Errorf("stream holds %d jobs, want %d", got, events)
		}
	})
}

func TestIngesterAfterScriptFlush(t *testing.T) {
	ingestPaths(t, func(t *testing.T, r *store.Redis, ingest ingestFunc) {
		putPending(t, r, "auth0|1", time.Now())
		if err := r.Client().ScriptFlush(timeout(t)).Err(); err != nil {
			t.Fatalf("script flush: %v", err)
		}
		res, err := ingest(timeout(t), store.IngestRequest{WebhookID: "w", UserID: "auth0|1", ReplayTTL: time.Minute})
		if err != nil || res.Status != store.IngestQueued {
			t.Fatalf("ingest after SCRIPT FLUSH: %+v, %v; want queued", res, err)
		}
	})
}

func TestIngesterHonoursCallerContext(t *testing.T) { conform(t, testIngesterHonoursCallerContext) }

func testIngesterHonoursCallerContext(t *testing.T, b backend) {
	r := b.open(t)
	in := store.NewIngester(r, 4)
	t.Cleanup(in.Close)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := in.Ingest(ctx, store.IngestRequest{WebhookID: "w", UserID: "u", ReplayTTL: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ingest with a cancelled context: %v, want context.Canceled", err)
	}
	// Nothing of a cancelled call may have happened.
	if marked, _ := store.ReplayMarked(timeout(t), r, "w"); marked {
		t.Errorf("a cancelled call left its replay mark")
	}
}

func TestIngesterClose(t *testing.T) { conform(t, testIngesterClose) }

func testIngesterClose(t *testing.T, b backend) {
	r := b.open(t)
	in := store.NewIngester(r, 4)
	in.Close()
	in.Close() // twice is fine
	_, err := in.Ingest(timeout(t), store.IngestRequest{WebhookID: "w", UserID: "u", ReplayTTL: time.Minute})
	if !errors.Is(err, store.ErrClosed) {
		t.Fatalf("ingest after Close: %v, want ErrClosed", err)
	}
}

// TestIngestBatchIsolatesEvents puts events of every outcome in one script call: a
// record key of the wrong type fails its own event alone, and leaves no replay mark, so
// a redelivery after the key is repaired is taken in.
func TestIngestBatchIsolatesEvents(t *testing.T) { conform(t, testIngestBatchIsolatesEvents) }

func testIngestBatchIsolatesEvents(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|a", time.Now().Add(-time.Hour))
	putPending(t, r, "auth0|c", time.Now().Add(-time.Hour))
	if err := r.Client().Set(timeout(t), store.OldRecordKey("auth0|broken"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Ingest(timeout(t), store.IngestRequest{WebhookID: "seen", UserID: "auth0|a", ReplayTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	reqs := []store.IngestRequest{
		{WebhookID: "w1", UserID: "auth0|a"},
		{WebhookID: "w2", UserID: "auth0|broken"},
		{WebhookID: "seen", UserID: "auth0|a"},
		{WebhookID: "w3", UserID: "auth0|nobody"},
		{WebhookID: "w4", UserID: "auth0|c"},
	}
	for i := range reqs {
		reqs[i].ReplayTTL = time.Minute
	}
	res, errs := store.IngestBatch(timeout(t), r, reqs)
	want := []string{store.IngestQueued, "", store.IngestDuplicate, store.IngestNotPending, store.IngestQueued}
	for i := range reqs {
		if i == 1 {
			if errs[i] == nil || !strings.Contains(errs[i].Error(), "WRONGTYPE") {
				t.Errorf("event with a broken record: %+v, %v; want a WRONGTYPE error", res[i], errs[i])
			}
			continue
		}
		if errs[i] != nil || res[i].Status != want[i] {
			t.Errorf("event %d (%s): %+v, %v; want %s", i, reqs[i].WebhookID, res[i], errs[i], want[i])
		}
	}
	if marked, _ := store.ReplayMarked(timeout(t), r, "w2"); marked {
		t.Error("the failed event left a replay mark: its redelivery would be dropped as a duplicate")
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 3 {
		t.Errorf("%d jobs on the stream, want 3 (seen, w1, w4)", n)
	}
}

// TestIngestEnqueueFailureLeavesNoMark: when the XADD itself fails, the replay mark set
// just before it is taken back, so the event is neither queued nor remembered.
func TestIngestEnqueueFailureLeavesNoMark(t *testing.T) {
	conform(t, testIngestEnqueueFailureLeavesNoMark)
}

func testIngestEnqueueFailureLeavesNoMark(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|a", time.Now().Add(-time.Hour))
	if err := r.Client().Set(timeout(t), "mp:{mp}:jobs", "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := r.Ingest(timeout(t), store.IngestRequest{WebhookID: "w1", UserID: "auth0|a", ReplayTTL: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("ingest onto a broken stream: %+v, %v; want a WRONGTYPE error", res, err)
	}
	if marked, _ := store.ReplayMarked(timeout(t), r, "w1"); marked {
		t.Error("the unqueued event left a replay mark: its redelivery would be dropped as a duplicate")
	}
}

// TestIngesterFrozenRedis: with Redis frozen, many concurrent callers all leave at their
// own deadline, with batches stuck in flight and more events queued behind them. Once
// Redis is back, every event redelivered is queued or a duplicate of one the frozen
// Redis took in late, and the stream holds each event exactly once: none lost, none
// doubled.
func TestIngesterFrozenRedis(t *testing.T) {
	srv := redistest.Dedicated(t)
	r := openURL(t, srv.URL())
	in := store.NewIngester(r, 0)
	t.Cleanup(in.Close)
	putPending(t, r, "auth0|1", time.Now())
	const events = 40
	send := func(ctxTimeout time.Duration) []error {
		errs := make([]error, events)
		var wg sync.WaitGroup
		for i := range events {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), ctxTimeout)
				defer cancel()
				var res store.IngestResult
				res, errs[i] = in.Ingest(ctx, store.IngestRequest{
					WebhookID: fmt.Sprintf("msg_%d", i), UserID: "auth0|1", ReplayTTL: time.Minute,
				})
				if errs[i] == nil && res.Status != store.IngestQueued && res.Status != store.IngestDuplicate {
					errs[i] = fmt.Errorf("status %q, want queued or duplicate", res.Status)
				}
			})
		}
		wg.Wait()
		return errs
	}

	srv.Pause()
	for i, err := range send(300 * time.Millisecond) {
		if err == nil {
			t.Errorf("event %d with Redis frozen: no error, want one", i)
		}
	}
	srv.Resume()
	for i, err := range send(10 * time.Second) {
		if err != nil {
			t.Errorf("event %d redelivered after Redis came back: %v", i, err)
		}
	}
	if got := streamLen(t, r, "mp:{mp}:jobs"); got != events {
		t.Errorf("stream holds %d jobs, want each of the %d events once", got, events)
	}
}

// TestIngestReplayWindows: a mark set just before its window ends still catches the
// replay in the next window, for as long as its TTL lasts and no longer, and its set is
// kept until the window's end plus the TTL.
func TestIngestReplayWindows(t *testing.T) { conform(t, testIngestReplayWindows) }

func testIngestReplayWindows(t *testing.T, b backend) {
	r := b.open(t)
	// A clock a day ahead: the sets' expiry is absolute, so it must lie in Redis's future.
	w := store.ReplayWindow
	t0 := time.Now().Add(24 * time.Hour).Truncate(w).Add(w - time.Second)
	var now atomic.Pointer[time.Time]
	store.SetClock(r, func() time.Time { return *now.Load() })
	ingestAt := func(at time.Time) string {
		now.Store(&at)
		res, err := r.Ingest(timeout(t), store.IngestRequest{WebhookID: "msg_1", UserID: "auth0|none", ReplayTTL: 2 * time.Minute})
		if err != nil {
			t.Fatalf("ingest at %v: %v", at, err)
		}
		return res.Status
	}
	if got := ingestAt(t0); got != store.IngestNotPending {
		t.Fatalf("first delivery: %s, want %s", got, store.IngestNotPending)
	}
	for _, d := range []time.Duration{time.Second, 90 * time.Second, 2*time.Minute - time.Millisecond} {
		if got := ingestAt(t0.Add(d)); got != store.IngestDuplicate {
			t.Errorf("replay %v later (next window): %s, want %s", d, got, store.IngestDuplicate)
		}
	}
	ok, ttl := store.ReplayMarked(timeout(t), r, "msg_1")
	wantExpiry := t0.Add(time.Second + 2*time.Minute)
	if left := time.Until(wantExpiry); !ok || ttl < left-time.Minute || ttl > left+time.Minute {
		t.Errorf("mark %v, set ttl %v; want its window's end plus the TTL, %v", ok, ttl, left)
	}
	if got := ingestAt(t0.Add(2*time.Minute + w + time.Second)); got != store.IngestNotPending {
		t.Errorf("delivery after the TTL and a window: %s, want %s (forgotten)", got, store.IngestNotPending)
	}
}

// TestIngestReadsOldReplayMarks: a store upgraded in place holds replay marks of the
// layout before window sets (one key per webhook id) until their TTL ends; a replay of
// such an event is still a duplicate.
func TestIngestReadsOldReplayMarks(t *testing.T) { conform(t, testIngestReadsOldReplayMarks) }

func testIngestReadsOldReplayMarks(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	if err := r.Client().Set(timeout(t), store.ReplayKey("msg_old"), "1733371234567", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := r.Ingest(timeout(t), store.IngestRequest{WebhookID: "msg_old", UserID: "auth0|1", ReplayTTL: time.Minute})
	if err != nil || res.Status != store.IngestDuplicate {
		t.Errorf("replay of an event marked in the old layout: %+v, %v; want duplicate", res, err)
	}
	if n := streamLen(t, r, "mp:{mp}:jobs"); n != 0 {
		t.Errorf("%d jobs queued, want none", n)
	}
}
