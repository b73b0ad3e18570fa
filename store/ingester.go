package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrClosed reports a call on an Ingester after Close.
var ErrClosed = errors.New("ingester closed")

// DefaultMaxBatch is the batch size NewIngester uses for maxBatch <= 0.
const DefaultMaxBatch = 128

// maxInFlight is how many batches may be in flight at once, and
// minSecondBatch how many events must be waiting before a batch goes out
// while another is still in flight. With one batch at a time, every request
// ended up waiting on the batch in Redis while the cores idled (15-17 % of the
// machine idle under load, against bare Echo's 6-10 %). A second flusher that
// sent every event the moment it was free halved the batches and spent on
// round trips the CPU it freed. Measured with BenchmarkIngestPaired in server
// (32 clients, runs of 9 rounds, in alternation): one at a time 0.458 and
// 0.459 of bare Echo; two, the second once 4, 6, 8, 12 or 16 events wait,
// 0.48-0.51, all within the noise of each other, with 9-12 % idle; three,
// 0.465 and 0.474. 8 spent the least CPU per event.
const (
	maxInFlight    = 2
	minSecondBatch = 8
)

// flushTimeout bounds one batch when Redis stops answering; each caller
// still leaves at its own deadline.
const flushTimeout = readTimeout + writeTimeout

// Ingester is Ingest with group commit: calls from many goroutines are
// coalesced into one call of the ingest script, one round trip and one script
// run per batch instead of per event. A free flusher takes whatever is queued
// (up to maxBatch), sends it, hands each caller its own result, and loops; so
// an idle Ingester adds no delay, and a busy one batches what piled up during
// the previous round trip. A second batch goes out while one is in flight only
// once minSecondBatch events wait, so Redis works while the receiver does.
//
// Each event keeps its own outcome: a key of the wrong type fails that event
// alone. The batch also runs atomically, which no event needs but none minds.
type Ingester struct {
	r        *Redis
	maxBatch int
	send     func(context.Context, []ingestEvent) ([]IngestResult, []error)

	mu       sync.Mutex
	ready    sync.Cond // signalled when a flusher may have a batch to send
	queue    []*ingestCall
	inFlight int
	idle     int // flushers waiting in ready.Wait; tests wait for both
	closed   bool

	stopped chan struct{}
}

type ingestCall struct {
	ctx  context.Context
	ev   ingestEvent
	done chan ingestReply // buffered: the flusher never waits for a caller
}

type ingestReply struct {
	res IngestResult
	err error
}

// NewIngester starts the flushers. maxBatch caps a batch (<= 0 means
// DefaultMaxBatch). A flusher never waits for a batch to fill: lingering
// would add latency at low load, and at high load the batch fills during the
// round trip in flight anyway. Close stops it.
func NewIngester(r *Redis, maxBatch int) *Ingester {
	return newIngester(r, maxBatch, r.ingestBatch)
}

// newIngester takes the batch call as a parameter, so a test can hold a batch
// in flight for as long as it needs to look at the queue.
func newIngester(r *Redis, maxBatch int, send func(context.Context, []ingestEvent) ([]IngestResult, []error)) *Ingester {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	in := &Ingester{r: r, maxBatch: maxBatch, send: send, stopped: make(chan struct{})}
	in.ready.L = &in.mu
	var wg sync.WaitGroup
	for range maxInFlight {
		wg.Go(in.run)
	}
	go func() { wg.Wait(); close(in.stopped) }()
	return in
}

// Ingest does what (*Redis).Ingest does, batched with concurrent calls. It
// returns when its own result is in or ctx is done. A caller that gives up
// after its call was sent may still have had its event queued (at least
// once): a retried delivery then answers duplicate.
func (in *Ingester) Ingest(ctx context.Context, req IngestRequest) (IngestResult, error) {
	ev, err := in.r.ingestEvent(req)
	if err != nil {
		return IngestResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return IngestResult{}, fmt.Errorf("ingest: %w", err)
	}
	c := &ingestCall{ctx: ctx, ev: ev, done: make(chan ingestReply, 1)}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return IngestResult{}, fmt.Errorf("ingest: %w", ErrClosed)
	}
	if len(in.queue) == cap(in.queue) {
		// Before the queue grows, drop calls whose caller already left: while Redis
		// hangs, both flushers wait and callers leave at their deadlines, and their
		// calls would otherwise pile up at the request rate until a flusher is back.
		in.queue = dropLeft(in.queue)
	}
	in.queue = append(in.queue, c)
	send := in.sendable()
	in.mu.Unlock()
	if send {
		in.ready.Signal()
	}
	// Every queued call is answered, even after Close: the flushers leave only
	// once the queue is empty.
	select {
	case rep := <-c.done:
		return rep.res, rep.err
	case <-ctx.Done():
		return IngestResult{}, fmt.Errorf("ingest: %w", ctx.Err())
	}
}

// Close flushes what is already queued and stops the flushers. Later calls
// fail with ErrClosed.
func (in *Ingester) Close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	in.ready.Broadcast()
	<-in.stopped
}

// sendable says whether a free flusher should send a batch now. in.mu held.
func (in *Ingester) sendable() bool {
	return sendNow(len(in.queue), in.inFlight, in.closed)
}

// sendNow is the dispatch rule: anything queued goes out when Redis has
// nothing of ours, or on Close; with a batch in flight, only a batch worth
// its round trip does.
func sendNow(queued, inFlight int, closed bool) bool {
	return queued > 0 && (inFlight == 0 || queued >= minSecondBatch || closed)
}

func (in *Ingester) run() {
	batch := make([]*ingestCall, 0, in.maxBatch)
	in.mu.Lock()
	for {
		for !in.sendable() {
			if in.closed && len(in.queue) == 0 {
				in.mu.Unlock()
				return
			}
			in.idle++
			in.ready.Wait()
			in.idle--
		}
		n := min(len(in.queue), in.maxBatch)
		batch = append(batch[:0], in.queue[:n]...)
		rest := copy(in.queue, in.queue[n:])
		clear(in.queue[rest:]) // no stale pointers keep answered calls alive
		in.queue = in.queue[:rest]
		if rest == 0 && cap(in.queue) > 4*in.maxBatch {
			in.queue = nil // a backlog after a hang leaves no large array behind
		}
		in.inFlight++
		more := in.sendable()
		in.mu.Unlock()
		if more {
			in.ready.Signal()
		}
		in.flush(batch)
		clear(batch)
		in.mu.Lock()
		in.inFlight-- // a batch held back for this one may go now: the loop sees it
	}
}

// dropLeft removes the calls whose caller has gone, keeping the order of the rest.
// Nothing of theirs has happened, and nobody waits for their answer.
func dropLeft(q []*ingestCall) []*ingestCall {
	kept := q[:0]
	for _, c := range q {
		if c.ctx.Err() == nil {
			kept = append(kept, c)
		}
	}
	clear(q[len(kept):])
	return kept
}

// flush runs the script once for the batch and answers every caller in it.
// Calls whose caller already left are not sent: nothing of theirs happened.
func (in *Ingester) flush(batch []*ingestCall) {
	live := make([]*ingestCall, 0, len(batch))
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.done <- ingestReply{err: fmt.Errorf("ingest: %w", err)}
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	evs := make([]ingestEvent, len(live))
	for i, c := range live {
		evs[i] = c.ev
	}
	res, errs := in.send(ctx, evs)
	for i, c := range live {
		c.done <- ingestReply{res: res[i], err: errs[i]}
	}
}
