package server

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/mailproof/mailproof/webhook"
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

// BenchmarkIngestPaired is the ratio to report: rounds of the same number of requests
// alternate between the bare handler and mailproof (batched, as serve runs it), and
// each mailproof round is compared with the bare rounds either side of it. Other work
// on a shared machine moves throughput by ±10 % over seconds; neighbours in time see
// the same load, so their ratio is much steadier than a ratio of separate runs. Redis is
// flushed before each mailproof round, so every round starts from the same state.
//
//	go test -run '^$' -bench IngestPaired -benchtime 1x ./server/
//
// MAILPROOF_BENCH_ROUNDS (default 7) and MAILPROOF_BENCH_REQUESTS (default 30000) size it.
func BenchmarkIngestPaired(b *testing.B) {
	rounds, perRound := benchEnv(b, "MAILPROOF_BENCH_ROUNDS", 7), benchEnv(b, "MAILPROOF_BENCH_REQUESTS", 30000)
	body := eventFixture(b)
	e := echo.New()
	e.POST(ingestPath, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, map[string]string{"status": "queued", "job_id": "1764000000000-0"})
	})
	bare := serveLoopback(b, e, discardLogger())
	s := startMain(b, stackOptions{log: discardLogger()})
	client := benchClient(b)
	warm := signDeliveries(b, 2000, body)
	fire(b, client, bare, body, warm)
	run := func(url string) (rate, goCPU float64) {
		ds := signDeliveries(b, perRound, body)
		elapsed, cpu := fire(b, client, url, body, ds)
		return float64(perRound) / elapsed.Seconds(), cpu.Seconds() * 1e6 / float64(perRound)
	}
	var ratios, goCPU, redisCPUs []float64
	prev, _ := run(bare)
	for range rounds {
		if err := s.store.Client().FlushDB(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
		s.putPending(b, fixtureUser)
		redisBefore := redisCPU(b, s)
		rate, cpu := run(s.url)
		redisCPUs = append(redisCPUs, (redisCPU(b, s)-redisBefore).Seconds()*1e6/float64(perRound))
		if n := s.jobs(b); n != int64(perRound) {
			b.Fatalf("%d jobs queued, want %d", n, perRound)
		}
		next, _ := run(bare)
		ratios = append(ratios, rate/((prev+next)/2))
		goCPU = append(goCPU, cpu)
		prev = next
	}
	b.ReportMetric(median(ratios), "x-bare-median")
	b.ReportMetric(slices.Min(ratios), "x-bare-min")
	b.ReportMetric(slices.Max(ratios), "x-bare-max")
	b.ReportMetric(median(goCPU), "go-cpu-µs/req")
	b.ReportMetric(median(redisCPUs), "redis-cpu-µs/req")
}

func benchEnv(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
	ds := signDeliveries(b, b.N, body)
	client := benchClient(b)
	b.ResetTimer()
	elapsed, cpu := fire(b, client, base, body, ds)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "req/s")
	// Client and server share this process; the bare run's figure is mostly the client
	// and net/http, so the difference between the two is what mailproof adds.
	b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "go-cpu-µs/req")
	return rate
}

// delivery is one pre-signed request.
type delivery struct{ id, ts, sig string }

// signDeliveries signs n deliveries of body with distinct webhook ids, now.
func signDeliveries(tb testing.TB, n int, body []byte) []delivery {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	ds := make([]delivery, n)
	for i := range ds {
		id := webhook.NewMessageID()
		sig, err := webhook.Sign(testSecret, id, now, body)
		if err != nil {
			tb.Fatal(err)
		}
		ds[i] = delivery{id, ts, sig}
	}
	return ds
}

// benchClient is a keep-alive client with room for every benchmark connection.
func benchClient(tb testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients, DisableCompression: true}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// fire sends every delivery of body from benchClients goroutines, each expecting 202,
// and returns the wall time and this process's CPU time it took.
func fire(tb testing.TB, client *http.Client, base string, body []byte, ds []delivery) (time.Duration, time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range benchClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(ds)) {
					return
				}
				req, err := http.NewRequest(http.MethodPost, base+ingestPath, bytes.NewReader(body))
				if err != nil {
					tb.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Webhook-Id", ds[i].id)
				req.Header.Set("Webhook-Timestamp", ds[i].ts)
				req.Header.Set("Webhook-Signature", ds[i].sig)
				resp, err := client.Do(req)
				if err != nil {
					tb.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					tb.Errorf("status %d, want 202", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), processCPU() - cpu
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
