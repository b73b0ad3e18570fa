package store_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

// TestBlockingReadersLeaveRoomForOtherCalls: with as many workers parked in blocking
// reads of the job stream as go-redis's default pool holds, and more, a call that is not
// a read still gets a connection at once. Without WithBlockingReaders the Ping below waits
// for a connection until its deadline (seen after a Cluster failover with 16 workers:
// the rate limiter's calls timed out for 45 s).
func TestBlockingReadersLeaveRoomForOtherCalls(t *testing.T) {
	conform(t, func(t *testing.T, b backend) {
		readers := 10*runtime.GOMAXPROCS(0) + 4
		r := b.open(t, store.WithBlockingReaders(readers))
		if err := r.EnsureGroup(timeout(t)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = r.Read(ctx, fmt.Sprintf("reader-%d", i), 1, 3*time.Second)
			}()
		}
		defer func() { cancel(); wg.Wait() }()
		time.Sleep(500 * time.Millisecond) // every reader is parked in XREADGROUP
		pctx, pcancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer pcancel()
		if err := r.Ping(pctx); err != nil {
			t.Fatalf("a call beside %d blocking readers: %v", readers, err)
		}
	})
}
