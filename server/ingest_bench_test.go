package server

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mailproof/mailproof/handlers"
)

// benchClients is how many requests are in flight at once, the load of a busy tenant's
// login burst on one receiver.
const benchClients = 32

// BenchmarkIngest measures the post-login receiver through the real HTTP stack: a
// loopback http.Server with the server's settings, the main Echo instance with all its
// middleware, and a real redis-server with the user pending, so every request is
// verified, decoded and queued. The same run measures a bare Echo handler (one route
// that reads the body and answers 202 JSON) behind the same http.Server, and reports
// each receiver's throughput as a fraction of it ("x-bare"), with the CPU a request
// costs this process (client and server) and redis-server. Client, server and Redis
// share the CPUs, as they would with a load generator on the receiver's host.
//
//	go test -run '^$' -bench 'Ingest' -benchtime 5s -count 3 ./server/
func BenchmarkIngest(b *testing.B) {
	body := eventFixture(b)
	// Each receiver is compared with the mean of the bare handler's reported runs in
	// this invocation (-count repeats each sub-benchmark in a row).
	var bare []benchRun
	b.Run("bare-echo", func(b *testing.B) {
		e := echo.New()
		e.POST(ingestPath, func(c echo.Context) error {
			if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
				return err
			}
			return c.JSON(http.StatusAccepted, map[string]string{"status": "queued", "job_id": "1764000000000-0"})
		})
		bare = append(bare, benchRun{b.N, benchPost(b, serveLoopback(b, e, discardLogger()), body)})
	})
	for _, tc := range []struct {
		name   string
		direct bool
	}{{"mailproof-batched", false}, {"mailproof-direct", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := startMain(b, stackOptions{direct: tc.direct, log: discardLogger()})
			s.putPending(b, fixtureUser)
			redisBefore := redisCPU(b, s)
			rate := benchPost(b, s.url, body)
			b.ReportMetric((redisCPU(b, s)-redisBefore).Seconds()*1e6/float64(b.N), "redis-cpu-µs/req")
			if n := s.jobs(b); n != int64(b.N) {
				b.Fatalf("%d jobs queued, want %d", n, b.N)
			}
			if ref := reportedMean(bare); ref > 0 {
				b.ReportMetric(rate/ref, "x-bare")
			}
		})
	}
}

// benchRun is one call of a benchmark function and the throughput it measured.
type benchRun struct {
	n    int
	rate float64
}

// reportedMean averages the runs the benchmark output reports: Go calls a benchmark
// with a growing b.N until a run lasts -benchtime, reports that last run, and starts
// again at b.N = 1 for the next -count repetition. The short warm-up runs are skipped.
func reportedMean(runs []benchRun) float64 {
	var sum float64
	var n int
	for i, r := range runs {
		if i == len(runs)-1 || runs[i+1].n < r.n {
			sum += r.rate
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// benchPost sends b.N distinct signed deliveries of body from benchClients goroutines
// and returns the requests per second. Signing happens before the timer starts.
func benchPost(b *testing.B, base string, body []byte) float64 {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	ids, sigs := make([]string, b.N), make([]string, b.N)
	for i := range b.N {
		ids[i] = handlers.NewMessageID()
		sig, err := handlers.Sign(testSecret, ids[i], now, body)
		if err != nil {
			b.Fatal(err)
		}
		sigs[i] = sig
	}
	tr := &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism(max(1, benchClients/procs)) // goroutines = parallelism × GOMAXPROCS
	var next atomic.Int64
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			req, err := http.NewRequest(http.MethodPost, base+ingestPath, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Webhook-Id", ids[i])
			req.Header.Set("Webhook-Timestamp", ts)
			req.Header.Set("Webhook-Signature", sigs[i])
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d, want 202", resp.StatusCode)
				return
			}
		}
	})
	elapsed, cpu := time.Since(start), processCPU()-cpu
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "req/s")
	// Client and server share this process; the bare run's figure is mostly the client
	// and net/http, so the difference between the two is what mailproof adds.
	b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "go-cpu-µs/req")
	return rate
}

// processCPU is the user and system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the user and system CPU time of the redis-server process so far.
func redisCPU(b *testing.B, s *mainStack) time.Duration {
	info, err := s.store.Client().Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatalf("info cpu: %v", err)
	}
	var sum float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sum += f
			}
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// discardLogger is a production JSON logger at info level writing nowhere: the
// receiver pays for encoding its log lines as it would in production.
func discardLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
}
