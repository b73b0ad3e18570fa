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

// flushers is how many batches may be in flight at once. With one script
// call per batch, two flushers measured no faster than one
// (BenchmarkIngestPaired in server: 0.46-0.48 of bare Echo either way) and
// halve the batch (4.8 against 8.3 events at 32 concurrent requests), so one
// writes half as often for the same throughput.
const flushers = 1

// flushTimeout bounds one batch when Redis stops answering; each caller
// still leaves at its own deadline.
const flushTimeout = readTimeout + writeTimeout

// Ingester is Ingest with group commit: calls from many goroutines are
// coalesced into one call of the ingest script, one round trip and one script
// run per batch instead of per event. A flusher goroutine takes whatever is
// queued when it becomes free (up to maxBatch), sends it, hands each caller
// its own result, and loops; so an idle Ingester adds no delay, and a busy
// one batches exactly as much as piled up during the previous round trip.
//
// Each event keeps its own outcome: a key of the wrong type fails that event
// alone. The batch also runs atomically, which no event needs but none minds.
type Ingester struct {
	r        *Redis
	maxBatch int
	calls    chan *ingestCall
	quit     chan struct{}
	stopped  chan struct{}
	close    sync.Once
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
// would add latency at low load and gain nothing at high load, where the
// batch fills during the previous round trip anyway. Close stops it.
func NewIngester(r *Redis, maxBatch int) *Ingester {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	in := &Ingester{
		r:        r,
		maxBatch: maxBatch,
		calls:    make(chan *ingestCall, maxBatch),
		quit:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range flushers {
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
	select {
	case in.calls <- c:
	case <-ctx.Done():
		return IngestResult{}, fmt.Errorf("ingest: %w", ctx.Err())
	case <-in.quit:
		return IngestResult{}, fmt.Errorf("ingest: %w", ErrClosed)
	}
	select {
	case rep := <-c.done:
		return rep.res, rep.err
	case <-ctx.Done():
		return IngestResult{}, fmt.Errorf("ingest: %w", ctx.Err())
	case <-in.stopped:
		// The flusher may have answered just before it stopped.
		select {
		case rep := <-c.done:
			return rep.res, rep.err
		default:
			return IngestResult{}, fmt.Errorf("ingest: %w", ErrClosed)
		}
	}
}

// Close flushes what is already queued and stops the flushers. Later calls
// fail with ErrClosed.
func (in *Ingester) Close() {
	in.close.Do(func() { close(in.quit) })
	<-in.stopped
}

func (in *Ingester) run() {
	batch := make([]*ingestCall, 0, in.maxBatch)
	for {
		select {
		case c := <-in.calls:
			batch = in.drain(append(batch[:0], c))
			in.flush(batch)
		case <-in.quit:
			for {
				batch = in.drain(batch[:0])
				if len(batch) == 0 {
					return
				}
				in.flush(batch)
			}
		}
	}
}

// drain appends queued calls without waiting.
func (in *Ingester) drain(batch []*ingestCall) []*ingestCall {
	for len(batch) < in.maxBatch {
		select {
		case c := <-in.calls:
			batch = append(batch, c)
		default:
			return batch
		}
	}
	return batch
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
	res, errs := in.r.ingestBatch(ctx, evs)
	for i, c := range live {
		c.done <- ingestReply{res: res[i], err: errs[i]}
	}
}
