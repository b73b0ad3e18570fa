package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

// The keys the test reads itself, as store/doc.go lists them: the page's numbers are
// checked against Redis, not against the code that computes them.
const (
	keyJobs         = "mp:{mp}:jobs"
	keyDelayed      = "mp:{mp}:delayed"
	keyDLQ          = "mp:{mp}:dlq"
	keyPendingIndex = "mp:{mp}:waiting:*" // the pending index: 256 shards
	keyAudit        = "mp:{mp}:audit"
	keyUndo         = "mp:{mp}:undo"
	keySweep        = "mp:{mp}:reconcile"
)

// pageStat is one of the page's counters as the browser rendered it.
type pageStat struct {
	Text    string  `json:"text"`
	Seconds *string `json:"seconds"`
	Alert   bool    `json:"alert"`
	Color   string  `json:"color"`
}

// pageCell is one table cell as rendered.
type pageCell struct {
	Text     string  `json:"text"`
	Seconds  *string `json:"seconds"`
	Datetime *string `json:"datetime"`
}

// pageSnapshot is everything the test reads off the rendered page, in one evaluation so
// that it all comes from one document (the page reloads itself every 5 seconds).
type pageSnapshot struct {
	Title    string              `json:"title"`
	Updated  *string             `json:"updated"`
	Stats    map[string]pageStat `json:"stats"`
	Waiting  [][]pageCell        `json:"waiting"`
	Recent   [][]pageCell        `json:"recent"`
	Sweep    map[string]pageCell `json:"sweep"`
	Overflow []string            `json:"overflow"`
	Width    int                 `json:"width"`
	Height   int                 `json:"height"`
	Scroll   int                 `json:"scroll_width"`
}

// snapshotJS reads the page: every counter, both tables, the sweep lines, and the
// elements whose content overflows their box (cut-off ids or numbers).
const snapshotJS = `(() => {
  const cell = el => el && ({
    text: el.innerText.trim(),
    seconds: el.querySelector('[data-seconds]')?.dataset.seconds ?? el.dataset.seconds ?? null,
    datetime: el.querySelector('time')?.getAttribute('datetime') ?? null,
  });
  const stats = {};
  for (const el of document.querySelectorAll('.stat .num')) {
    stats[el.id] = {
      text: el.innerText.trim(),
      seconds: el.dataset.seconds ?? null,
      alert: el.parentElement.classList.contains('alert'),
      color: getComputedStyle(el).color,
    };
  }
  const rows = sel => [...document.querySelectorAll(sel + ' tbody tr')].map(tr => [...tr.cells].map(cell));
  const overflow = [...document.querySelectorAll('body *')]
    .filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'auto' && el.clientWidth > 0)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '') + ': ' + el.innerText.slice(0, 60));
  return {
    title: document.title,
    updated: document.getElementById('updated')?.getAttribute('datetime') ?? null,
    stats,
    waiting: rows('#waiting'),
    recent: rows('#recent'),
    sweep: {last: cell(document.getElementById('sweep-last')), open: cell(document.getElementById('sweep-open'))},
    overflow,
    width: window.innerWidth,
    height: document.documentElement.scrollHeight,
    scroll_width: document.documentElement.scrollWidth,
  };
})()`

// TestServeStatusPageInBrowser loads the status page of a running serve in headless
// chromium and checks every number it renders against what Redis holds, while the
// instance is in the state the person on call opens the page for: Auth0 stopped
// answering the worker's reads, jobs pile up behind the one it waits on, a job is held by
// a replica that died 20 minutes ago (the oldest queued job, in red), three retries wait
// out their backoff, a job was dead-lettered, users have waited minutes to days, and a reconcile
// sweep run is open. Screenshots of the page, wide and narrow, are kept
// (MAILPROOF_TEST_ARTIFACTS).
func TestServeStatusPageInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	env, tenant := serveEnvTenant(t)
	// One worker, so the jobs behind the one it waits on stay queued; a lease and an Auth0
	// timeout longer than the test, so nothing is reclaimed or given up while the page is
	// read; no sweep of its own, so the seeded sweep state stays as written.
	env["MAILPROOF_WORKERS"] = "1"
	env["MAILPROOF_VISIBILITY_TIMEOUT"] = "10m"
	env["MAILPROOF_AUTH0_TIMEOUT"] = "2m"
	env["MAILPROOF_RECONCILE_INTERVAL"] = "0"
	ctx := t.Context()
	r, err := store.Open(ctx, env["MAILPROOF_REDIS_URL"], store.WithRecordLayout(store.LayoutPacked))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	rdb := r.Client()
	seed := seedStatus(t, r, tenant)

	runCtx, stop := context.WithCancel(context.Background())
	var stderr syncBuffer
	done, exited := make(chan error, 1), make(chan error, 1) // for shutdown, for waitReady
	go func() {
		err := run(runCtx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, &stderr)
		done <- err
		exited <- err
	}()
	stopped := false
	shutdown := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		tenant.Close() // lets the worker's held read fail, so the worker can stop
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after cancel: %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop within 30s of cancel\n%s", stderr.String())
		}
	}
	t.Cleanup(shutdown)
	waitReady(t, env["MAILPROOF_OPS_LISTEN"], exited, &stderr)

	// The worker flips the user whose login was queued before it started; then Auth0
	// stops answering reads of users and three more logins come in through the receiver.
	waitFor(t, "the queued login flipped", func() (bool, string) {
		rec, err := r.Get(ctx, seed.flipped)
		return err == nil && rec.Status == store.StatusVerified, fmt.Sprintf("%+v, %v", rec, err)
	})
	tenant.Inject(auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/users", Hang: true})
	for _, u := range seed.arriving {
		postLogin(t, env, u)
	}
	// The worker takes the first and waits on Auth0: it holds the user's lock, and the
	// state stays as it is until Auth0 answers (never, here) or the lease ends (after the
	// test). The dead replica's job is never delivered again before its lease ends either,
	// and the retries are due in an hour.
	waitFor(t, "the worker waiting on Auth0", func() (bool, string) {
		rec, err := r.Get(ctx, seed.arriving[0].id)
		pending, perr := rdb.XPending(ctx, keyJobs, "workers").Result()
		ok := err == nil && rec.Status == store.StatusVerifying && perr == nil && pending.Count == 2
		return ok, fmt.Sprintf("record %+v (%v), in flight %+v (%v)", rec, err, pending, perr)
	})

	// What Redis holds, read before and after the page so a clock-bound value has bounds.
	before, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t, exe)
	console := collectConsole(t, browser)
	page := "http://" + env["MAILPROOF_OPS_LISTEN"] + "/"
	if err := chromedp.Do(browser, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(page)); err != nil {
		t.Fatalf("load %s: %v\n%s", page, err, stderr.String())
	}
	snap := snapshot(t, browser)
	after, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	dir := artifactsDir(t)
	keepArtifact(t, dir, "status-page.png", fullScreenshot(t, browser, 1280))

	checkStats(t, rdb, snap, before, after)
	checkWaiting(t, r, snap, seed)
	checkRecent(t, rdb, snap)
	checkSweep(t, rdb, snap)
	if len(snap.Overflow) > 0 || snap.Scroll > snap.Width {
		t.Errorf("at %dpx wide the page is %dpx wide and these overflow their box: %q", snap.Width, snap.Scroll, snap.Overflow)
	}

	// The person on call may open it on a phone: nothing may be cut off at 390px either.
	if err := chromedp.Do(browser, chromedp.EmulateViewport(390, 844), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	narrow := snapshot(t, browser)
	keepArtifact(t, dir, "status-page-narrow.png", fullScreenshot(t, browser, 390))
	if len(narrow.Overflow) > 0 || narrow.Scroll > narrow.Width {
		t.Errorf("at %dpx wide the page is %dpx wide and these overflow their box: %q", narrow.Width, narrow.Scroll, narrow.Overflow)
	}

	// No script runs on the page, and nothing it loads fails: the console stays clean.
	for _, m := range console() {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
	shutdown()
}

// statusUser is one seeded user: their id, address and when they were provisioned.
type statusUser struct {
	id, email   string
	provisioned time.Time
}

// statusSeed is what seedStatus left: every user with a record, the user whose queued
// login the worker flips first, and the users whose logins arrive once Auth0 hangs.
type statusSeed struct {
	users    []string
	flipped  string
	arriving []statusUser
}

// seedStatus writes the state before serve starts, by Redis's clock: a job that a dead
// replica took 20 minutes ago (the oldest queued job, still in flight), three jobs
// waiting out a retry, one dead letter, a login the worker will flip, users who have
// waited from 90 seconds to 20 days (two of them sent their link twice), and a sweep
// whose last run completed on the export path with a search run open since.
func seedStatus(t *testing.T, r *store.Redis, tenant *auth0test.Tenant) statusSeed {
	t.Helper()
	ctx := t.Context()
	rdb := r.Client()
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	now = now.Truncate(time.Millisecond)
	var seed statusSeed
	n := 0
	put := func(ago time.Duration) statusUser {
		t.Helper()
		n++
		u := statusUser{
			id:          fmt.Sprintf("auth0|65%022x", 0xa1b2c3d4e5f6+n*0x1111),
			email:       fmt.Sprintf("person%02d@example.com", n),
			provisioned: now.Add(-ago),
		}
		if err := r.PutPending(ctx, store.Record{UserID: u.id, Email: u.email, Connection: auth0test.DefaultConnection, ProvisionedAt: u.provisioned}); err != nil {
			t.Fatal(err)
		}
		seed.users = append(seed.users, u.id)
		return u
	}
	if err := r.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}

	// The oldest job goes first: a stream takes an explicit id only above its last one.
	stuck := put(3*time.Hour + 10*time.Minute)
	oldID := strconv.FormatInt(now.Add(-20*time.Minute-7*time.Second).UnixMilli(), 10) + "-0"
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: keyJobs, ID: oldID, Values: []any{
		"user_id", stuck.id, "webhook_id", webhook.NewMessageID(), "payload", jobPayload(t, stuck, now.Add(-20*time.Minute)),
		"attempt", "1", "enqueued_at", strconv.FormatInt(now.Add(-20*time.Minute).UnixMilli(), 10),
	}}).Err(); err != nil {
		t.Fatal(err)
	}
	var failing []statusUser
	for _, ago := range []time.Duration{52 * time.Minute, 58 * time.Minute, 61 * time.Minute, 7 * time.Hour} {
		u := put(ago)
		failing = append(failing, u)
		ingest(t, r, u, now)
	}
	// A replica took the four jobs and died after parking three for a retry and giving
	// up on one; the oldest job stays in flight under its name until the lease runs out.
	jobs, err := r.Read(ctx, "mailproof-7d9f8c6b5-x2kq4-1-123456", 5, 0)
	if err != nil || len(jobs) != 5 || jobs[0].ID != oldID {
		t.Fatalf("read the seeded jobs: %d (%v), want 5, the first %s", len(jobs), err, oldID)
	}
	for _, j := range jobs[1:4] {
		if err := r.Retry(ctx, j, now.Add(time.Hour), "auth0: 503 Service Unavailable"); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.DeadLetter(ctx, jobs[4], "auth0: 400 Bad Request: Payload validation error"); err != nil {
		t.Fatal(err)
	}

	// The user the worker flips as soon as it starts, known to the tenant.
	flipped := put(2 * time.Hour)
	au := tenant.AddUser(auth0test.UserSeed{ID: flipped.id, Email: flipped.email, Connection: auth0test.DefaultConnection, CreatedAt: flipped.provisioned})
	tenant.ResetPassword(au.ID, flipped.provisioned.Add(30*time.Minute))
	ingest(t, r, flipped, now)
	seed.flipped = flipped.id

	// The users whose logins arrive once Auth0 hangs, and the ones still waiting.
	for _, ago := range []time.Duration{40 * time.Minute, 35 * time.Minute, 31 * time.Minute} {
		seed.arriving = append(seed.arriving, put(ago))
	}
	for i, ago := range []time.Duration{90 * time.Second, 12*time.Minute + 5*time.Second, 5*time.Hour + 3*time.Minute,
		26 * time.Hour, 54 * time.Hour, 76 * time.Hour, 9 * 24 * time.Hour, 20*24*time.Hour + 3*time.Hour} {
		u := put(ago)
		for range i % 3 { // some were sent their link again
			if ok, err := r.StartDelivery(ctx, u.id, "reset-email"); !ok || err != nil {
				t.Fatalf("start delivery: %t, %v", ok, err)
			}
			if ok, err := r.FinishDelivery(ctx, u.id, "reset-email", "provision"); !ok || err != nil {
				t.Fatalf("finish delivery: %t, %v", ok, err)
			}
		}
	}

	// The sweep: the last run completed on the export path; a search run is open since.
	if ok, err := r.AcquireSweep(ctx, "mailproof-7d9f8c6b5-x2kq4", time.Minute); !ok || err != nil {
		t.Fatalf("acquire sweep: %t, %v", ok, err)
	}
	lastOK, started := now.Add(-73*time.Minute), now.Add(-4*time.Minute-20*time.Second)
	if err := r.SaveSweep(ctx, "mailproof-7d9f8c6b5-x2kq4", store.SweepState{
		Run: started.UTC().Format("20060102T150405Z") + "-x2kq4", Path: "search", StartedAt: started, From: lastOK.Add(-5 * time.Minute), To: started,
		LastRun: lastOK.Add(-3*time.Minute).UTC().Format("20060102T150405Z") + "-b8mzp", LastPath: "export", LastSuccess: lastOK, LastTo: lastOK,
	}); err != nil {
		t.Fatal(err)
	}
	return seed
}

// loginEvent is the realistic post-login fixture moved to u: their first password login
// at `at`, after a reset 30 minutes after provisioning.
func loginEvent(t *testing.T, u statusUser, at time.Time) []byte {
	t.Helper()
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	return eventtest.Edit(t, func(m map[string]any) {
		m["timestamp"] = stamp(at)
		data := m["data"].(map[string]any)
		data["authentication"] = map[string]any{"methods": []any{map[string]any{"name": "pwd", "timestamp": stamp(at)}}}
		user := data["user"].(map[string]any)
		user["user_id"], user["email"] = u.id, u.email
		user["created_at"], user["last_password_reset"] = stamp(u.provisioned), stamp(u.provisioned.Add(30*time.Minute))
	})
}

// jobPayload is u's login at `at` as the receiver queues it.
func jobPayload(t *testing.T, u statusUser, at time.Time) []byte {
	t.Helper()
	ev, err := event.Decode(loginEvent(t, u, at))
	if err != nil {
		t.Fatalf("the event the test built does not decode: %v", err)
	}
	return ev.AppendJobPayload(nil)
}

// ingest queues u's login the way the receiver does.
func ingest(t *testing.T, r *store.Redis, u statusUser, at time.Time) {
	t.Helper()
	res, err := r.Ingest(t.Context(), store.IngestRequest{WebhookID: webhook.NewMessageID(), UserID: u.id, ReplayTTL: time.Hour, Payload: jobPayload(t, u, at)})
	if err != nil || res.Status != store.IngestQueued {
		t.Fatalf("ingest %s: %+v, %v; want queued", u.id, res, err)
	}
}

// postLogin sends u's login, signed, to the running receiver.
func postLogin(t *testing.T, env map[string]string, u statusUser) {
	t.Helper()
	now := time.Now()
	body := loginEvent(t, u, now)
	id := webhook.NewMessageID()
	req, err := webhook.NewRequest(t.Context(), "http://"+env["MAILPROOF_LISTEN"]+handlers.PostLoginPath, testWebhookSecret, id, now, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("post login of %s: %d %s, want 202", u.id, resp.StatusCode, answer)
	}
}

// collectConsole gathers what the tab writes to its console, from now on; the function
// it returns lists the messages so far.
func collectConsole(t *testing.T, browser context.Context) func() []chromedp.ConsoleMessage {
	t.Helper()
	var (
		mu   sync.Mutex
		msgs []chromedp.ConsoleMessage
	)
	ctx, cancel := context.WithCancel(browser)
	t.Cleanup(cancel)
	seq := chromedp.Console(ctx)
	go func() {
		for m, err := range seq {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		}
	}()
	return func() []chromedp.ConsoleMessage {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(msgs)
	}
}

// waitFor polls cond for up to 30 seconds.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("gave up waiting for %s: %s", what, last)
}

// snapshot reads the rendered page in one evaluation. The page reloads itself every 5
// seconds; an evaluation that meets a reload is tried again.
func snapshot(t *testing.T, browser context.Context) pageSnapshot {
	t.Helper()
	var err error
	for range 3 {
		var s pageSnapshot
		if s, err = chromedp.Run(browser, chromedp.Evaluate[pageSnapshot](snapshotJS)); err == nil {
			return s
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("read the page: %v", err)
	return pageSnapshot{}
}

// fullScreenshot captures the whole page at width as PNG: the viewport is made as tall
// as the page first.
func fullScreenshot(t *testing.T, browser context.Context, width int64) []byte {
	t.Helper()
	h, err := chromedp.Run(browser, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(browser, chromedp.EmulateViewport(width, h)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(browser, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	return png
}

// clock is how the page writes a time.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// ageRange reads an age as the page writes it for people ("42s", "12m 05s", "5h 03m",
// "3d 4h") and returns the seconds it stands for: at least lo, less than hi.
func ageRange(s string) (lo, hi float64, ok bool) {
	units := map[byte]float64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
	parts := strings.Fields(s)
	if len(parts) == 0 || len(parts) > 2 {
		return 0, 0, false
	}
	var last float64
	for _, p := range parts {
		if len(p) < 2 {
			return 0, 0, false
		}
		u, found := units[p[len(p)-1]]
		v, err := strconv.Atoi(p[:len(p)-1])
		if !found || err != nil || v < 0 {
			return 0, 0, false
		}
		lo += float64(v) * u
		last = u
	}
	return lo, lo + last, true
}

// plainDecimal is how a data-seconds attribute writes seconds: no sign, no exponent.
var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// checkAge checks that a rendered age says what its data-seconds attribute says and that
// the attribute is within [lo, hi] seconds (the bounds the test read around the page).
func checkAge(t *testing.T, what, text string, attr *string, lo, hi float64) {
	t.Helper()
	if attr == nil {
		t.Errorf("%s: %q has no data-seconds", what, text)
		return
	}
	secs, err := strconv.ParseFloat(*attr, 64)
	if err != nil || !plainDecimal.MatchString(*attr) {
		t.Errorf("%s: data-seconds %q, want a plain decimal number (%v)", what, *attr, err)
		return
	}
	if secs < lo-0.002 || secs > hi+0.002 {
		t.Errorf("%s: data-seconds %v, want between %.3f and %.3f (Redis)", what, secs, lo, hi)
	}
	if from, to, ok := ageRange(text); !ok || secs < from || secs >= to {
		t.Errorf("%s: shown as %q, which does not say %vs", what, text, secs)
	}
}

// checkStats checks every counter against Redis, read with plain commands on the keys
// store/doc.go documents; before and after are Redis's clock around the page load.
func checkStats(t *testing.T, rdb redis.UniversalClient, snap pageSnapshot, before, after time.Time) {
	t.Helper()
	ctx := t.Context()
	queued := rdb.XLen(ctx, keyJobs).Val()
	inFlight := rdb.XPending(ctx, keyJobs, "workers").Val().Count
	delayed := rdb.ZCard(ctx, keyDelayed).Val()
	dead := rdb.XLen(ctx, keyDLQ).Val()
	var pending int64
	for _, k := range rdb.Keys(ctx, keyPendingIndex).Val() {
		pending += rdb.ZCard(ctx, k).Val()
	}
	undos := rdb.HLen(ctx, keyUndo).Val()
	first, err := rdb.XRangeN(ctx, keyJobs, "-", "+", 1).Result()
	if err != nil || len(first) != 1 {
		t.Fatalf("oldest job: %v, %v", first, err)
	}
	// The scenario itself: every counter different, so a counter showing another's
	// number is caught.
	if queued != 4 || inFlight != 2 || delayed != 3 || dead != 1 || pending != 16 || undos != 0 {
		t.Fatalf("Redis holds queued %d, in flight %d, delayed %d, dead %d, pending %d, undos %d; the test meant 4, 2, 3, 1, 16, 0",
			queued, inFlight, delayed, dead, pending, undos)
	}
	for id, want := range map[string]int64{
		"stat-pending": pending, "stat-queued": queued, "stat-in-flight": inFlight, "stat-delayed": delayed, "stat-dead": dead,
	} {
		got, ok := snap.Stats[id]
		if !ok || got.Text != strconv.FormatInt(want, 10) {
			t.Errorf("%s shows %q, Redis says %d", id, got.Text, want)
		}
	}
	if got, ok := snap.Stats["stat-undos"]; ok != (undos > 0) {
		t.Errorf("stat-undos shown %t (%q), Redis holds %d undos", ok, got.Text, undos)
	}
	if !snap.Stats["stat-dead"].Alert {
		t.Errorf("stat-dead is not marked as an alert with %d dead letters", dead)
	}

	msPart, _, _ := strings.Cut(first[0].ID, "-")
	added, _ := strconv.ParseInt(msPart, 10, 64)
	lo, hi := float64(before.UnixMilli()-added)/1000, float64(after.UnixMilli()-added)/1000
	oldest := snap.Stats["stat-oldest-queued"]
	checkAge(t, "stat-oldest-queued", oldest.Text, oldest.Seconds, lo, hi)
	if stale := lo > 15*60; oldest.Alert != stale || (oldest.Color == snap.Stats["stat-queued"].Color) == stale {
		t.Errorf("stat-oldest-queued at %.0fs: alert %t in %s (queued in %s), want the alert (red) past 15 minutes",
			lo, oldest.Alert, oldest.Color, snap.Stats["stat-queued"].Color)
	}
}

// checkWaiting checks the records waiting longest against the records themselves: each
// seeded user's record read by id, the ones still waiting sorted by when they were
// provisioned, the first ten.
func checkWaiting(t *testing.T, r *store.Redis, snap pageSnapshot, seed statusSeed) {
	t.Helper()
	var want []store.Record
	for _, id := range seed.users {
		rec, err := r.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == store.StatusPending || rec.Status == store.StatusVerifying {
			want = append(want, rec)
		}
	}
	slices.SortFunc(want, func(a, b store.Record) int { return a.ProvisionedAt.Compare(b.ProvisionedAt) })
	want = want[:min(len(want), 10)]
	if snap.Updated == nil {
		t.Fatal("the page has no <time id=updated datetime=…>")
	}
	pageTime, err := time.Parse(time.RFC3339Nano, *snap.Updated)
	if err != nil {
		t.Fatalf("updated %q: %v", *snap.Updated, err)
	}
	if len(snap.Waiting) != len(want) {
		t.Errorf("%d rows waiting, Redis has %d records waiting (ten at most shown)", len(snap.Waiting), len(want))
	}
	for i, row := range snap.Waiting[:min(len(snap.Waiting), len(want))] {
		rec := want[i]
		if len(row) != 5 {
			t.Errorf("waiting row %d has %d cells, want 5: %+v", i, len(row), row)
			continue
		}
		if row[0].Text != rec.UserID || row[1].Text != rec.Status || row[2].Text != clock(rec.ProvisionedAt) || row[4].Text != strconv.Itoa(rec.Deliveries) {
			t.Errorf("waiting row %d shows %s | %s | %s | %s, Redis has %s | %s | %s | %d", i,
				row[0].Text, row[1].Text, row[2].Text, row[4].Text, rec.UserID, rec.Status, clock(rec.ProvisionedAt), rec.Deliveries)
		}
		waited := pageTime.Sub(rec.ProvisionedAt).Seconds()
		checkAge(t, "waiting "+rec.UserID, row[3].Text, row[3].Seconds, waited-0.001, waited+0.001)
	}
}

// checkRecent checks the latest decisions against the audit stream, newest first.
func checkRecent(t *testing.T, rdb redis.UniversalClient, snap pageSnapshot) {
	t.Helper()
	entries, err := rdb.XRevRangeN(t.Context(), keyAudit, "+", "-", 20).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 5 || len(snap.Recent) != len(entries) {
		t.Fatalf("%d recent decisions shown, the audit stream has %d (want at least 5)", len(snap.Recent), len(entries))
	}
	for i, e := range entries {
		row := snap.Recent[i]
		f := func(k string) string { s, _ := e.Values[k].(string); return s }
		ms, _ := strconv.ParseInt(f("time"), 10, 64)
		if len(row) != 5 || row[0].Text != clock(time.UnixMilli(ms)) || row[1].Text != f("user_id") ||
			!strings.HasPrefix(row[2].Text, f("outcome")) || row[3].Text != f("attempt") || row[4].Text != f("error") {
			var got []string
			for _, c := range row {
				got = append(got, c.Text)
			}
			t.Errorf("recent decision %d shows %q, the audit stream has %v", i, got, e.Values)
		}
	}
}

// checkSweep checks the sweep lines against the sweep's hash.
func checkSweep(t *testing.T, rdb redis.UniversalClient, snap pageSnapshot) {
	t.Helper()
	h, err := rdb.HGetAll(t.Context(), keySweep).Result()
	if err != nil || h["last_run"] == "" || h["run"] == "" {
		t.Fatalf("sweep hash %v, %v: want a completed run and an open one", h, err)
	}
	pageTime, _ := time.Parse(time.RFC3339Nano, *snap.Updated)
	at := func(k string) time.Time { ms, _ := strconv.ParseInt(h[k], 10, 64); return time.UnixMilli(ms) }
	for _, tc := range []struct {
		name, path, run string
		at              time.Time
	}{
		{"last", h["last_path"], h["last_run"], at("last_success")},
		{"open", h["path"], h["run"], at("started_at")},
	} {
		c := snap.Sweep[tc.name]
		for _, s := range []string{tc.path, tc.run, clock(tc.at)} {
			if !strings.Contains(c.Text, s) {
				t.Errorf("sweep-%s %q lacks %q", tc.name, c.Text, s)
			}
		}
		ago := pageTime.Sub(tc.at).Seconds()
		_, agoText, _ := strings.Cut(c.Text, "(")
		agoText, _, _ = strings.Cut(agoText, " ago)")
		checkAge(t, "sweep-"+tc.name, agoText, c.Seconds, ago-0.001, ago+0.001)
	}
}
