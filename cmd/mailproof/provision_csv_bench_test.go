package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// benchProvisioner answers at once and keeps nothing, so the heap is runCSV's own.
type benchProvisioner struct{}

func (benchProvisioner) Provision(context.Context, proof.ProvisionRequest) (proof.ProvisionResult, error) {
	return proof.ProvisionResult{Status: proof.ProvisionCreated, Record: store.Record{UserID: "auth0|bench"}}, nil
}

// BenchmarkRunCSV streams a generated file through runCSV and a provisioner that costs
// nothing: the CSV, the duplicate set, the workers and the results file. It reports
// bytes allocated per row and the peak heap, sampled every 10 ms; comparing the sizes
// shows what grows with the file (only the duplicate set should).
func BenchmarkRunCSV(b *testing.B) {
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "users.csv")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := writeUsers(f, rows); err != nil {
				b.Fatal(err)
			}
			f.Close()
			opts := csvOptions{Path: path, Concurrency: defaultConcurrency}
			var alloc uint64
			var peak atomic.Uint64
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				os.Remove(path + ".results.csv")
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				stop := sampleHeap(&peak)
				b.StartTimer()
				sum, err := runCSV(b.Context(), opts, benchProvisioner{}, io.Discard, false)
				b.StopTimer()
				stop()
				runtime.ReadMemStats(&after)
				alloc += after.TotalAlloc - before.TotalAlloc
				if err != nil || sum.Statuses[proof.ProvisionCreated] != rows {
					b.Fatalf("%v, %+v", err, sum.Statuses)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(alloc)/float64(b.N*rows), "B/row")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}

// BenchmarkRowReader reads a generated file and reports what stays on the heap once
// every row is read: the duplicate set, the one thing that grows with the file.
func BenchmarkRowReader(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "users.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := writeUsers(f, rows); err != nil {
		b.Fatal(err)
	}
	f.Close()
	var retained uint64
	for b.Loop() {
		b.StopTimer()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		rr, err := newRowReader(f, proof.ProvisionRequest{}, rows)
		if err != nil {
			b.Fatal(err)
		}
		for {
			row, err := rr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || row.status != "" {
				b.Fatal(err, row.status)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained += after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(rr)
		f.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(retained)/float64(b.N*rows), "retained-B/row")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// sampleHeap records the largest HeapAlloc into peak until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
