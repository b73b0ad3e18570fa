package handlers

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// statusRecent is how many decisions the status page lists, statusWaiting how many of
// the records waiting longest.
const (
	statusRecent  = 20
	statusWaiting = 10
)

// StatusSource is what the status page reads from Redis.
type StatusSource interface {
	QueueStats(ctx context.Context) (store.Stats, error)
	Audit(ctx context.Context, userID string, limit int) ([]store.AuditEntry, error)
	LongestWaiting(ctx context.Context, n int) ([]store.Record, error)
	ReadSweep(ctx context.Context) (store.SweepState, error)
}

// WaitingRecord is one record on the status page: no address, only the user id and
// how long it has waited.
type WaitingRecord struct {
	UserID        string    `json:"user_id"`
	Status        string    `json:"status"`
	ProvisionedAt time.Time `json:"provisioned_at"`
	// WaitingSeconds is the time from ProvisionedAt to the report's Time, to the
	// millisecond.
	WaitingSeconds float64   `json:"waiting_seconds"`
	Deliveries     int       `json:"deliveries"`
	ExpiresAt      time.Time `json:"expires_at,omitzero"`
}

// SweepStatus is the reconcile sweep as the status page shows it.
type SweepStatus struct {
	// LastRun, LastPath and LastSuccess name the last run that completed ("" and zero
	// before the first).
	LastRun     string    `json:"last_run"`
	LastPath    string    `json:"last_path"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Running is true while a run is open (in progress, or cut short and waiting to be
	// resumed): Run, Path and StartedAt are that run's.
	Running   bool      `json:"running"`
	Run       string    `json:"run,omitempty"`
	Path      string    `json:"path,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
}

// StatusReport is what the status page shows; ?format=json answers it as is.
type StatusReport struct {
	Time time.Time `json:"time"`
	// Redis is "ok", or "unavailable" when the counts or the decisions
	// could not be read; Stats and Recent are then null.
	Redis  string             `json:"redis"`
	Stats  *store.Stats       `json:"stats"`
	Recent []store.AuditEntry `json:"recent"` // newest first
	// Waiting are the records waiting longest for proof, the earliest provisioned first.
	Waiting []WaitingRecord `json:"waiting"`
	// Sweep is the reconcile sweep's latest run, on any replica.
	Sweep *SweepStatus `json:"sweep"`
	// Ready is true when every readiness check passed; Checks holds each, with the
	// warnings of those that passed with one.
	Ready  bool                   `json:"ready"`
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// Status serves the ops listener's status page: the checks' warnings first, then queue
// counts and the oldest queued job's age, the latest decisions (with a job's run of
// deferrals beside the decision that ended it: "deferred ×37 (user_busy)"), the records
// waiting longest (user ids, never addresses), the reconcile sweep's latest run and
// readiness, as HTML that refreshes itself
// every 5 seconds, or as JSON with ?format=json. It answers 200 even when Redis is down,
// saying so instead of showing numbers: the page is where the person on call looks
// first. The page has no script and loads nothing else, and every value in it is escaped
// by html/template (user ids come from Auth0 events and may hold anything).
func Status(src StatusSource, timeout time.Duration, checks ...Check) echo.HandlerFunc {
	timeout = checkTimeout(timeout)
	page := template.Must(template.New("status").Funcs(template.FuncMap{
		"outcomeClass": outcomeClass,
		"clock":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"age":          age,
		"since":        func(now, t time.Time) string { return age(now.Sub(t).Seconds()) },
		// iso, seconds and decimal are the machine-readable twins of clock, since and
		// age, for datetime and data-seconds attributes: to the millisecond, and never
		// in exponent form (a float64 prints as 1.7e+06 from 11.6 days on).
		"iso":     func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") },
		"seconds": func(now, t time.Time) string { return decimal(max(now.Sub(t).Round(time.Millisecond).Seconds(), 0)) },
		"decimal": decimal,
		"stale":   func(seconds float64) bool { return seconds > staleQueueSeconds },
	}).Parse(statusTemplate))
	return func(c echo.Context) error {
		format := c.QueryParam("format")
		if format != "" && format != "json" && format != "html" {
			return NewError(http.StatusBadRequest, "bad_format", "format must be html or json")
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		report := readStatus(ctx, src, checks)

		h := c.Response().Header()
		h.Set("Cache-Control", "no-store")
		if format == "json" {
			return c.JSON(http.StatusOK, report)
		}
		// Inline styles only: nothing else may load, and a crafted value could not run
		// script even if escaping ever failed.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		var buf bytes.Buffer
		if err := page.Execute(&buf, report); err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, buf.Bytes())
	}
}

// readStatus gathers the report: the readiness checks run while Redis is read, so a
// hanging dependency costs one timeout, not several.
func readStatus(ctx context.Context, src StatusSource, checks []Check) StatusReport {
	done := make(chan map[string]CheckResult, 1)
	go func() { done <- runChecks(ctx, checks) }()

	report := StatusReport{Time: time.Now().UTC(), Redis: "ok"}
	stats, err := src.QueueStats(ctx)
	var (
		recent  []store.AuditEntry
		waiting []store.Record
		sweep   store.SweepState
	)
	if err == nil {
		recent, err = src.Audit(ctx, "", statusRecent)
	}
	if err == nil {
		waiting, err = src.LongestWaiting(ctx, statusWaiting)
	}
	if err == nil {
		sweep, err = src.ReadSweep(ctx)
	}
	if err != nil {
		report.Redis = "unavailable"
	} else {
		report.Stats = &stats
		report.Recent = recent
		if report.Recent == nil {
			report.Recent = []store.AuditEntry{}
		}
		report.Waiting = make([]WaitingRecord, 0, len(waiting))
		for _, r := range waiting {
			report.Waiting = append(report.Waiting, WaitingRecord{
				UserID: r.UserID, Status: r.Status, ProvisionedAt: r.ProvisionedAt,
				WaitingSeconds: max(report.Time.Sub(r.ProvisionedAt).Round(time.Millisecond).Seconds(), 0),
				Deliveries:     r.Deliveries, ExpiresAt: r.ExpiresAt,
			})
		}
		report.Sweep = &SweepStatus{
			LastRun: sweep.LastRun, LastPath: sweep.LastPath, LastSuccess: sweep.LastSuccess,
			Running: sweep.Run != "", Run: sweep.Run, Path: sweep.Path, StartedAt: sweep.StartedAt,
		}
	}

	report.Checks = <-done
	report.Ready = true
	for _, r := range report.Checks {
		report.Ready = report.Ready && r.OK
	}
	if len(report.Checks) == 0 {
		report.Checks = nil
	}
	return report
}

// runChecks runs every check in parallel and reports each by name.
func runChecks(ctx context.Context, checks []Check) map[string]CheckResult {
	type named struct {
		name string
		res  CheckResult
	}
	results := make(chan named, len(checks))
	for _, ch := range checks {
		go func() { results <- named{ch.Name, result(ch.Probe(ctx))} }()
	}
	out := make(map[string]CheckResult, len(checks))
	for range checks {
		n := <-results
		out[n.name] = n.res
	}
	return out
}

// staleQueueSeconds is when the page shows the oldest queued job's age in red: the
// threshold of the MailproofQueueStale alert.
const staleQueueSeconds = 15 * 60

// age writes seconds for people: "42s", "12m 05s", "5h 03m", "3d 4h".
func age(seconds float64) string {
	d := time.Duration(max(seconds, 0) * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// decimal writes seconds as a plain decimal number, to the millisecond.
func decimal(seconds float64) string { return strconv.FormatFloat(seconds, 'f', -1, 64) }

// outcomeClass colours an outcome code on the page: green for a flip, amber for a retry,
// red for a dead letter, grey for every other decision.
func outcomeClass(code string) string {
	switch code {
	case store.OutcomeVerified:
		return "ok"
	case store.AuditRetry, store.AuditReplayed:
		return "warn"
	case store.AuditDeadLetter, proof.OutcomeChangedDuringFlip:
		return "bad"
	}
	return ""
}
