package handlers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

// dataSeconds reads the data-seconds attribute that follows marker in the page.
func dataSeconds(t *testing.T, body, marker string) float64 {
	t.Helper()
	_, rest, ok := strings.Cut(body, marker+` data-seconds="`)
	v, _, _ := strings.Cut(rest, `"`)
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil {
		t.Fatalf("no data-seconds after %s: %q, %v", marker, v, err)
	}
	return f
}

// TestStatusBacklog: the oldest queued job's age, the records waiting longest and the
// sweep's latest run, on the page and in JSON, as Redis holds them.
func TestStatusBacklog(t *testing.T) {
	r := statusStore(t, redistest.URL(t))
	ctx := t.Context()
	now, err := r.Client().Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// A job queued 90 s ago by Redis's clock, and twelve users provisioned 1 to 12
	// hours ago, of which the ten oldest are shown.
	id := strconv.FormatInt(now.Add(-90*time.Second).UnixMilli(), 10) + "-0"
	if err := r.Client().XAdd(ctx, &redis.XAddArgs{Stream: "mp:{mp}:jobs", ID: id, Values: []any{
		"user_id", "auth0|w01", "webhook_id", "msg_1", "payload", "{}", "attempt", "1", "enqueued_at", "0",
	}}).Err(); err != nil {
		t.Fatal(err)
	}
	base := now.Truncate(time.Second)
	for i := 1; i <= 12; i++ {
		err := r.PutPending(ctx, store.Record{UserID: fmt.Sprintf("auth0|w%02d", i), Email: "w@example.com", ProvisionedAt: base.Add(-time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The last run completed on the export path; a search run is open since.
	lastOK, started := base.Add(-2*time.Hour), base.Add(-5*time.Minute)
	if ok, err := r.AcquireSweep(ctx, "replica-a", time.Minute); !ok || err != nil {
		t.Fatalf("acquire sweep: %t, %v", ok, err)
	}
	if err := r.SaveSweep(ctx, "replica-a", store.SweepState{
		Run: "run-2", Path: "search", StartedAt: started, From: lastOK, To: started,
		LastRun: "run-1", LastPath: "export", LastSuccess: lastOK, LastTo: lastOK,
	}); err != nil {
		t.Fatal(err)
	}

	stats, err := r.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sweep, err := r.ReadSweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string // the ten waiting longest, oldest first, as Redis has them
	for i := 12; i > 2; i-- {
		u := fmt.Sprintf("auth0|w%02d", i)
		rec, err := r.Get(ctx, u)
		if err != nil || !rec.ProvisionedAt.Equal(base.Add(-time.Duration(i)*time.Hour)) {
			t.Fatalf("get %s: %+v, %v", u, rec, err)
		}
		want = append(want, u)
	}

	var report StatusReport
	if err := json.Unmarshal(getStatus(t, r, 2*time.Second, "?format=json").Body.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if report.Stats == nil || report.Stats.Queued != stats.Queued || report.Stats.Pending != stats.Pending || report.Stats.OldestQueuedSeconds < 90 || report.Stats.OldestQueuedSeconds >= 95 {
		t.Errorf("json stats %+v, want %+v with the oldest queued 90 s ago", report.Stats, stats)
	}
	var gotIDs []string
	for i, w := range report.Waiting {
		gotIDs = append(gotIDs, w.UserID)
		hours := 12 - i
		if !w.ProvisionedAt.Equal(base.Add(-time.Duration(hours)*time.Hour)) || w.WaitingSeconds < float64(hours*3600) || w.WaitingSeconds > float64(hours*3600+5) || w.Status != store.StatusPending {
			t.Errorf("waiting %d: %+v, want pending, provisioned %dh ago", i, w, hours)
		}
	}
	if !slices.Equal(gotIDs, want) {
		t.Errorf("waiting %v, want %v", gotIDs, want)
	}
	wantSweep := SweepStatus{LastRun: sweep.LastRun, LastPath: sweep.LastPath, LastSuccess: sweep.LastSuccess, Running: true, Run: sweep.Run, Path: sweep.Path, StartedAt: sweep.StartedAt}
	if report.Sweep == nil || !report.Sweep.LastSuccess.Equal(lastOK) || !report.Sweep.StartedAt.Equal(started) || report.Sweep.LastRun != "run-1" || report.Sweep.Run != "run-2" || !report.Sweep.Running {
		t.Errorf("json sweep %+v, want %+v", report.Sweep, wantSweep)
	}

	body := getStatus(t, r, 2*time.Second, "").Body.String()
	if got := dataSeconds(t, body, `id="stat-oldest-queued"`); got < 90 || got >= 95 {
		t.Errorf("page: oldest queued %vs, want 90 s", got)
	}
	waiting, _, _ := strings.Cut(body[strings.Index(body, `<table id="waiting">`):], "</table>")
	for i, u := range want {
		prov := base.Add(-time.Duration(12-i) * time.Hour).UTC()
		row := fmt.Sprintf(`<tr><td class="id">%s</td><td><span class="tag">pending</span></td><td class="time"><time datetime="%s">%s</time></td><td class="time" data-seconds=`,
			u, prov.Format("2006-01-02T15:04:05.000Z"), prov.Format("2006-01-02 15:04:05Z"))
		if !strings.Contains(waiting, row) || !strings.Contains(waiting, fmt.Sprintf(">%dh %02dm<", 12-i, 0)) {
			t.Errorf("page lacks the row of %s (%s…, %dh 00m):\n%s", u, row, 12-i, waiting)
		}
		if i > 0 && strings.Index(waiting, u) < strings.Index(waiting, want[i-1]) {
			t.Errorf("page lists %s before %s", u, want[i-1])
		}
	}
	if got := strings.Count(waiting, "<tr><td"); got != statusWaiting {
		t.Errorf("%d waiting rows, want %d", got, statusWaiting)
	}
	for _, s := range []string{
		`<li id="sweep-last">last completed: <span class="tag ok">export</span> run run-1, at <time datetime="` + lastOK.UTC().Format("2006-01-02T15:04:05.000Z") + `">` +
			lastOK.UTC().Format("2006-01-02 15:04:05Z") + `</time> (<span data-seconds="72`,
		`">2h 00m</span> ago)</li>`,
		`<li id="sweep-open">run open: <span class="tag warn">search</span> run run-2, started <time datetime="` + started.UTC().Format("2006-01-02T15:04:05.000Z") + `">` +
			started.UTC().Format("2006-01-02 15:04:05Z") + `</time> (<span data-seconds="30`,
		`">5m 0`,
		`class="num" id="stat-oldest-queued" data-seconds="`, ">1m 3",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q:\n%s", s, body)
		}
	}
}

func TestAge(t *testing.T) {
	for _, tc := range []struct {
		seconds float64
		want    string
	}{
		{-3, "0s"}, {0.4, "0s"}, {59.9, "59s"}, {90, "1m 30s"}, {3599, "59m 59s"}, {3600, "1h 00m"},
		{47*3600 + 59*60, "47h 59m"}, {50 * 3600, "2d 2h"},
	} {
		if got := age(tc.seconds); got != tc.want {
			t.Errorf("age(%v) %q, want %q", tc.seconds, got, tc.want)
		}
	}
}
