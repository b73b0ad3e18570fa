package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed reports a call on an Ingester after Close.
var ErrClosed = errors.New("ingester closed")

// DefaultMaxBatch is the batch size NewIngester uses for maxBatch <= 0.
const DefaultMaxBatch = 128

// maxInFlight is how many batches may be in flight at once. A batch goes out
// once minBatch events wait; a smaller one when Redis has nothing of ours and
// the queue has waited maxLinger, or at once when the latest batch went alone
// (one caller at a time has no company to wait for). The values are the best
// of those measured; BENCHMARKS.md ("Group commit in the store") has the
// measurements and the variants tried.
const (
	maxInFlight = 2
	minBatch    = 8
	maxLinger   = 500 * time.Microsecond
)

// flushTimeout bounds one batch when Redis stops answering; each caller
// still leaves at its own deadline.
const flushTimeout = readTimeout + writeTimeout

// Ingester is Ingest with group commit: calls from many goroutines are
// coalesced into one call of the ingest script, one round trip and one script
// run per batch instead of per event. A free flusher takes what is queued (up
// to maxBatch), sends it, hands each caller its own result, and loops. Under
// load a batch waits for minBatch events, so a round trip is not spent on one
// or two, but never more than maxLinger while Redis has nothing of ours; a
// lone caller does not wait at all. Two batches may be in flight, so Redis
// works while the receiver does.
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
	// lingered says the queue is done waiting for company: it waited maxLinger
	// since it started filling, or had no reason to wait. filling counts the
	// fillings, so the timer of an earlier one changes nothing.
	lingered bool
	filling  int
	lastSize int // events in the latest batch sent

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
// DefaultMaxBatch). A lone event waits at most maxLinger for company, a cost
// no login notices. Close stops it.
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
	if len(in.queue) == 1 {
		in.startFilling()
	}
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
	return sendNow(len(in.queue), in.inFlight, in.lingered, in.closed)
}

// sendNow is the dispatch rule: a batch worth its round trip goes out at
// once; a smaller one only when Redis has nothing of ours and the queue is
// done waiting for company (lingered), or on Close.
func sendNow(queued, inFlight int, lingered, closed bool) bool {
	return queued > 0 && (queued >= minBatch || inFlight == 0 && lingered || closed)
}

// startFilling starts the queue's wait for company. in.mu held. Only after a
// full batch does the next wait: after a smaller one, company is not coming
// soon, and one caller at a time, a few taking turns or a quiet tenant's lone
// logins would wait for nothing.
func (in *Ingester) startFilling() {
	in.filling++
	in.lingered = in.lastSize < minBatch
	if in.lingered {
		return
	}
	filling := in.filling
	time.AfterFunc(maxLinger, func() {
		in.mu.Lock()
		in.lingered = in.lingered || in.filling == filling
		send := in.sendable()
		in.mu.Unlock()
		if send {
			in.ready.Signal()
		}
	})
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
		in.lastSize = n
		if rest > 0 {
			in.startFilling() // what is left waits anew, or for the batch in flight
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
	var waitBy time.Time
	for i, c := range live {
		evs[i] = c.ev
		if dl, ok := c.ctx.Deadline(); ok && (waitBy.IsZero() || dl.Before(waitBy)) {
			waitBy = dl
		}
	}
	if !waitBy.IsZero() {
		// A replica WAIT (WithMinReplicas) answers before the most hurried caller leaves.
		ctx = withWaitBy(ctx, waitBy)
	}
	res, errs := in.send(ctx, evs)
	for i, c := range live {
		c.done <- ingestReply{res: res[i], err: errs[i]}
	}
}
