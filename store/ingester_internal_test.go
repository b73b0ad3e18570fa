package store

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestSendNow(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		queued, inFlight       int
		lingered, closed, want bool
	}{
		{name: "nothing queued", queued: 0, inFlight: 0, lingered: true, want: false},
		{name: "nothing queued on close", queued: 0, inFlight: 1, closed: true, want: false},
		{name: "a full batch goes at once", queued: minBatch, inFlight: 0, want: true},
		{name: "a full batch goes while one is in flight", queued: minBatch, inFlight: 1, want: true},
		{name: "a small batch waits for company", queued: minBatch - 1, inFlight: 0, want: false},
		{name: "a small batch goes after the linger", queued: 1, inFlight: 0, lingered: true, want: true},
		{name: "a small batch waits for the batch in flight", queued: minBatch - 1, inFlight: 1, lingered: true, want: false},
		{name: "close sends what is left", queued: 1, inFlight: 1, closed: true, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sendNow(tc.queued, tc.inFlight, tc.lingered, tc.closed); got != tc.want {
				t.Errorf("sendNow(%d, %d, %v, %v) = %v, want %v", tc.queued, tc.inFlight, tc.lingered, tc.closed, got, tc.want)
			}
		})
	}
}

// TestStartFillingWaits: the queue waits for company only after a full batch. After a
// smaller one, waiting would only delay: two or three callers taking turns would each
// wait out the linger on every event.
func TestStartFillingWaits(t *testing.T) {
	for _, tc := range []struct {
		lastSize int
		wait     bool
	}{{0, false}, {1, false}, {2, false}, {minBatch - 1, false}, {minBatch, true}, {64, true}} {
		in := &Ingester{lastSize: tc.lastSize}
		in.ready.L = &in.mu
		in.mu.Lock()
		in.startFilling()
		waits := !in.lingered
		in.mu.Unlock()
		if waits != tc.wait {
			t.Errorf("after a batch of %d, the next waits for company: %v, want %v", tc.lastSize, waits, tc.wait)
		}
	}
}

// heldSender stands in for the script call: it reports each batch's size and
// answers only when the test releases it, so the test sees the queue while
// batches are in flight.
type heldSender struct {
	sizes   chan int
	release chan struct{}
}

func (h heldSender) send(ctx context.Context, evs []ingestEvent) ([]IngestResult, []error) {
	h.sizes <- len(evs)
	<-h.release
	res := make([]IngestResult, len(evs))
	for i := range res {
		res[i] = IngestResult{Status: IngestQueued, JobID: strconv.Itoa(i)}
	}
	return res, make([]error, len(evs))
}

// next is the size of the next batch sent; a batch that never comes fails the test
// instead of hanging it.
func (h heldSender) next(t *testing.T) int {
	t.Helper()
	select {
	case n := <-h.sizes:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no batch was sent")
		return 0
	}
}

// TestIngesterSecondBatch: a lone event goes out after the linger; while it is
// in flight, events wait until minBatch of them are queued, and then go out
// together while the first is still in flight. Every caller gets its answer.
func TestIngesterSecondBatch(t *testing.T) {
	h := heldSender{sizes: make(chan int, 3), release: make(chan struct{})}
	in := newIngester(&Redis{now: time.Now}, 64, h.send)
	var wg sync.WaitGroup
	ingest := func(n int) {
		for i := range n {
			wg.Go(func() {
				res, err := in.Ingest(context.Background(), IngestRequest{WebhookID: "w" + strconv.Itoa(i), UserID: "u", ReplayTTL: time.Minute})
				if err != nil || res.Status != IngestQueued {
					t.Errorf("ingest: %+v, %v; want queued", res, err)
				}
			})
		}
	}
	ingest(1)
	if got := h.next(t); got != 1 {
		t.Fatalf("first batch of %d events, want 1 (Redis had nothing of ours)", got)
	}
	ingest(minBatch - 1)
	waitFor(t, in, func() bool { return len(in.queue) == minBatch-1 })
	if got := inFlight(in); got != 1 {
		t.Fatalf("%d batches in flight with %d events queued, want 1", got, minBatch-1)
	}
	ingest(1)
	if got := h.next(t); got != minBatch {
		t.Fatalf("second batch of %d events, want %d", got, minBatch)
	}
	close(h.release)
	wg.Wait()
	in.Close()
	select {
	case n := <-h.sizes:
		t.Errorf("a third batch of %d events, want none", n)
	default:
	}
}

// TestIngesterCloseFlushesHeldEvents: events held back for the batch in
// flight are sent on Close rather than dropped.
func TestIngesterCloseFlushesHeldEvents(t *testing.T) {
	h := heldSender{sizes: make(chan int, 3), release: make(chan struct{})}
	in := newIngester(&Redis{now: time.Now}, 64, h.send)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if _, err := in.Ingest(context.Background(), IngestRequest{WebhookID: "w" + strconv.Itoa(i), UserID: "u", ReplayTTL: time.Minute}); err != nil {
				t.Errorf("ingest: %v", err)
			}
		})
		if i == 0 {
			h.next(t)
		}
	}
	waitFor(t, in, func() bool { return len(in.queue) == 2 })
	closed := make(chan struct{})
	go func() { in.Close(); close(closed) }()
	select {
	case got := <-h.sizes:
		if got != 2 {
			t.Errorf("batch sent on close holds %d events, want 2", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close never sent the events held back for the batch in flight")
	}
	close(h.release)
	wg.Wait()
	<-closed
}

// TestIngesterCappedBatchWakesSecondFlusher: a flusher that takes a batch capped at
// maxBatch and leaves minBatch or more behind wakes the other flusher, so both
// batches are in flight at once; what is left after them goes out after the linger.
func TestIngesterCappedBatchWakesSecondFlusher(t *testing.T) {
	h := heldSender{sizes: make(chan int, 4), release: make(chan struct{})}
	const maxBatch = 4
	in := newIngester(&Redis{now: time.Now}, maxBatch, h.send)
	calls := make([]*ingestCall, maxBatch+minBatch+1)
	// Both flushers asleep, so only a signal can start the second one.
	waitFor(t, in, func() bool { return in.idle == maxInFlight })
	in.mu.Lock()
	for i := range calls {
		ev, err := in.r.ingestEvent(IngestRequest{WebhookID: "w" + strconv.Itoa(i), UserID: "u", ReplayTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = &ingestCall{ctx: context.Background(), ev: ev, done: make(chan ingestReply, 1)}
	}
	in.queue = append(in.queue, calls...) // all at once, as if they had piled up
	in.mu.Unlock()
	in.ready.Signal() // one wake-up, as Ingest gives
	for range 2 {
		select {
		case got := <-h.sizes:
			if got != maxBatch {
				t.Errorf("batch of %d events, want %d (the cap)", got, maxBatch)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the second flusher never took the remaining events")
		}
	}
	close(h.release)
	// The 5 left after two batches of 4 are fewer than minBatch: they go out once
	// Redis is free and their linger is over, which only the timer can end here.
	for i, c := range calls {
		select {
		case rep := <-c.done:
			if rep.err != nil {
				t.Errorf("call %d: %v", i, rep.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d was never answered", i)
		}
	}
	in.Close()
}

// TestIngesterDropsLeftCalls: while both flushers wait on a hung Redis, calls whose
// callers gave up do not pile up in the queue.
func TestIngesterDropsLeftCalls(t *testing.T) {
	h := heldSender{sizes: make(chan int, 3), release: make(chan struct{})}
	in := newIngester(&Redis{now: time.Now}, 64, h.send)
	var wg sync.WaitGroup
	ingest := func(ctx context.Context, id string) {
		wg.Go(func() {
			_, _ = in.Ingest(ctx, IngestRequest{WebhookID: id, UserID: "u", ReplayTTL: time.Minute})
		})
	}
	ingest(context.Background(), "first")
	h.next(t)
	for i := range minBatch {
		ingest(context.Background(), "second"+strconv.Itoa(i))
	}
	h.next(t) // both flushers are now waiting on the held sender
	const gaveUp = 300
	for i := range gaveUp {
		ctx, cancel := context.WithCancel(context.Background())
		ingest(ctx, "left"+strconv.Itoa(i))
		waitFor(t, in, func() bool { return len(in.queue) > 0 && in.queue[len(in.queue)-1].ctx == ctx })
		cancel()
	}
	in.mu.Lock()
	queued := len(in.queue)
	in.mu.Unlock()
	// The queue never held more than minBatch live calls, so its array never
	// grew past that: a left call is dropped whenever the next one would grow it.
	if queued > minBatch {
		t.Errorf("%d calls queued after %d callers gave up one after another, want at most %d", queued, gaveUp, minBatch)
	}
	close(h.release)
	wg.Wait()
	in.Close()
}

func inFlight(in *Ingester) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.inFlight
}

// waitFor polls cond under the Ingester's lock until it holds: the callers'
// goroutines reach the queue in their own time.
func waitFor(t *testing.T, in *Ingester, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in.mu.Lock()
		ok := cond()
		in.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the queue never reached the expected state")
		}
		time.Sleep(time.Millisecond)
	}
}
