package proof

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// BenchmarkSweep sweeps a tenant holding MAILPROOF_BENCH_PENDING pending users
// (default 100,000), provisioned two days ago, 1 % of whom reset their password and
// logged in during the last hour while the webhook was lost. Three cases:
//
//   - search: the hourly sweep on the search path, the previous run an hour ago;
//   - search-first: the first sweep ever, over everything provisioned (the 1,000-result
//     cap splits its range into windows);
//   - export: the hourly sweep on the export path.
//
// The sweep runs in a child process (this test binary again), so its peak memory (max
// RSS) is its own and not the emulator's; the worker then runs the queued jobs here. It
// reports the Management API calls of the sweep and of the jobs, the targets (search:
// at most one call per 50 records checked plus 2 per flip; export: at most 10 plus 2
// per flip), the wall time the calls take at a 2/s and a 16/s budget, and the child's
// peak RSS. Run it at two sizes to see that memory does not follow the records:
//
//	go test -run '^$' -bench Sweep -benchtime 1x -timeout 60m ./proof/
//	MAILPROOF_BENCH_PENDING=10000 go test -run '^$' -bench Sweep -benchtime 1x ./proof/
func BenchmarkSweep(b *testing.B) {
	pending := 100000
	if s := os.Getenv("MAILPROOF_BENCH_PENDING"); s != "" {
		pending, _ = strconv.Atoi(s)
	}
	for _, tc := range []struct {
		name   string
		export bool
		first  bool
	}{{name: "search"}, {name: "search-first", first: true}, {name: "export", export: true}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				benchSweep(b, pending, tc.export, tc.first)
				b.StartTimer()
			}
		})
	}
}

func benchSweep(b *testing.B, pending int, export, first bool) {
	h := newHarness(b, func(c *Config) {
		c.Rate, c.Concurrency, c.VisibilityTimeout, c.Auth0Timeout = 5000, 8, 30*time.Second, 10*time.Second
	}, auth0test.Config{Rate: 1e6, Burst: 1e6})
	lost := populate(h, pending)

	if !first {
		// The previous hourly run ended an hour ago.
		owner := "bench-setup"
		if ok, err := h.rdb.AcquireSweep(b.Context(), owner, time.Minute); !ok || err != nil {
			b.Fatalf("lock: %v %v", ok, err)
		}
		ago := time.Now().Add(-time.Hour)
		if err := h.rdb.SaveSweep(b.Context(), owner, store.SweepState{LastRun: "previous", LastPath: PathSearch, LastSuccess: ago, LastTo: ago}); err != nil {
			b.Fatal(err)
		}
		if err := h.rdb.ReleaseSweep(b.Context(), owner); err != nil {
			b.Fatal(err)
		}
	}
	exportAbove := pending + 1
	if export {
		exportAbove = 1
	}

	h.tenant.ResetCalls()
	start := time.Now()
	rep, rss := runSweepChild(b, h, exportAbove)
	sweepWall := time.Since(start)
	sweepCalls := h.tenant.CountCalls("", "/api/v2/")

	stop := h.start(h.worker())
	h.waitFor("every queued job to finish", func() (bool, string) {
		done, err := h.rdb.JobOutcomes(b.Context(), rep.Queued)
		return err == nil && len(done) == len(rep.Queued), fmt.Sprintf("%d of %d, %v", len(done), len(rep.Queued), err)
	})
	stop()
	all := h.tenant.CountCalls("", "/api/v2/")
	jobCalls := all - sweepCalls
	flips := h.tenant.CountCalls("PATCH", "/api/v2/users/")
	if flips != lost {
		b.Errorf("%d flips; want %d, one per lost login", flips, lost)
	}

	target := (rep.Checked+49)/50 + 2*flips
	if export {
		target = 10 + 2*flips
	}
	b.ReportMetric(float64(rep.Checked), "checked")
	b.ReportMetric(float64(sweepCalls), "sweep-calls")
	b.ReportMetric(float64(jobCalls), "job-calls")
	b.ReportMetric(float64(all), "calls")
	b.ReportMetric(float64(target), "target-calls")
	b.ReportMetric(float64(all)/2, "s-at-2/s")
	b.ReportMetric(float64(all)/16, "s-at-16/s")
	b.ReportMetric(float64(rss)/1024, "child-peak-MiB")
	b.ReportMetric(sweepWall.Seconds(), "sweep-wall-s")
	b.Logf("%d pending, %d lost: path %s, found %d, checked %d, queued %d, results %v, sweep calls %v; %d job calls (%d PATCH); total %d, target ≤ %d; child max RSS %d KiB",
		pending, lost, rep.Path, rep.Found, rep.Checked, len(rep.Queued), rep.Results, rep.Calls, jobCalls, flips, all, target, rss)
	if all > target {
		b.Errorf("%d Management API calls; target ≤ %d", all, target)
	}
}

// populate adds n provisioned users to the tenant and Redis, and lets 1 % of them reset
// and log in during the last hour. They were provisioned two days ago at 16 a second,
// the paid tenants' Management API rate. It returns how many logged in.
func populate(h *harness, n int) int {
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	lost := 0
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				provisioned := base.Add(time.Duration(i) * time.Second / 16).Truncate(time.Millisecond)
				marker := map[string]any{auth0client.ProvisionMarker: map[string]any{"provisioned_at": provisioned.Format(time.RFC3339Nano)}}
				email := fmt.Sprintf("bulk%07d@example.com", i)
				u := h.tenant.AddUser(auth0test.UserSeed{Email: email, Connection: auth0test.DefaultConnection, CreatedAt: provisioned, AppMetadata: marker})
				if err := h.rdb.PutPending(context.Background(), store.Record{UserID: u.ID, Email: email, Connection: auth0test.DefaultConnection, ProvisionedAt: provisioned}); err != nil {
					h.t.Errorf("put pending: %v", err)
					return
				}
				if i%100 == 0 {
					h.tenant.ResetPassword(u.ID, time.Now().Add(-50*time.Minute))
					h.tenant.Login(u.ID, time.Now().Add(-40*time.Minute))
					mu.Lock()
					lost++
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return lost
}

// sweepChild is what the benchmark hands its child process.
type sweepChild struct {
	Domain, ClientID, ClientSecret, CAFile string
	RedisURL                               string
	ExportAbove                            int
}

const sweepChildEnv = "MAILPROOF_SWEEP_CHILD"

// runSweepChild runs one sweep in a child process and returns its report and peak RSS
// in KiB. The child reads its own VmHWM: its rusage would not do, because Linux counts
// in a child's max RSS the memory of the parent it was forked from.
func runSweepChild(b *testing.B, h *harness, exportAbove int) (SweepReport, int64) {
	spec, _ := json.Marshal(sweepChild{
		Domain: h.tenant.Domain(), ClientID: h.tenant.ClientID(), ClientSecret: h.tenant.ClientSecret(), CAFile: h.tenant.CAFile(),
		RedisURL: h.url, ExportAbove: exportAbove,
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), sweepChildEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("sweep child: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "{")
	j := strings.LastIndex(string(out), "}")
	var res childResult
	if i < 0 || j < i {
		b.Fatalf("sweep child printed no report:\n%s", out)
	}
	if err := json.Unmarshal(out[i:j+1], &res); err != nil {
		b.Fatalf("sweep child report: %v\n%s", err, out)
	}
	return res.Report, res.PeakKiB
}

// childResult is what the child prints.
type childResult struct {
	Report  SweepReport
	PeakKiB int64
}

// peakRSS is this process's peak resident set (VmHWM) in KiB.
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestSweepChild is BenchmarkSweep's child: it sweeps once and prints the report. It
// does nothing unless the benchmark started it.
func TestSweepChild(t *testing.T) {
	raw := os.Getenv(sweepChildEnv)
	if raw == "" {
		t.Skip("run by BenchmarkSweep only")
	}
	var spec sweepChild
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatal(err)
	}
	rdb, err := store.Open(t.Context(), spec.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	a0, err := auth0client.New(t.Context(), auth0client.Config{Domain: spec.Domain, ClientID: spec.ClientID, ClientSecret: spec.ClientSecret, CAFile: spec.CAFile, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSweepConfig()
	cfg.ExportAbove = spec.ExportAbove
	s := &Sweeper{Store: rdb, Users: a0, Budget: store.NewLimiter(rdb, 5000), Log: zap.NewNop(), Config: cfg}
	rep, err := s.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(childResult{Report: rep, PeakKiB: peakRSS()})
	fmt.Println(string(out))
}
