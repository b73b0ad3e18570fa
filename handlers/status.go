package handlers

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
)

// statusRecent is how many decisions the status page lists.
const statusRecent = 20

// StatusSource is what the status page reads from Redis.
type StatusSource interface {
	QueueStats(ctx context.Context) (store.Stats, error)
	Audit(ctx context.Context, userID string, limit int) ([]store.AuditEntry, error)
}

// StatusReport is what the status page shows; ?format=json answers it as is.
type StatusReport struct {
	Time time.Time `json:"time"`
	// Redis is "ok", or "unavailable" when the counts or the decisions
	// could not be read; Stats and Recent are then null.
	Redis  string             `json:"redis"`
	Stats  *store.Stats       `json:"stats"`
	Recent []store.AuditEntry `json:"recent"` // newest first
	// Ready is true when every readiness check passed; Checks holds each, with the
	// warnings of those that passed with one.
	Ready  bool                   `json:"ready"`
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// Status serves the ops listener's status page: the checks' warnings first, then queue
// counts, the latest decisions (with a job's run of deferrals beside the decision that
// ended it: "deferred ×37 (user_busy)") and readiness, as HTML that refreshes itself
// every 5 seconds, or as JSON with ?format=json. It answers 200 even when Redis is down,
// saying so instead of showing numbers: the page is where the person on call looks
// first. The page has no script and loads nothing else, and every value in it is escaped
// by html/template (user ids come from Auth0 events and may hold anything).
func Status(src StatusSource, timeout time.Duration, checks ...Check) echo.HandlerFunc {
	timeout = checkTimeout(timeout)
	page := template.Must(template.New("status").Funcs(template.FuncMap{
		"outcomeClass": outcomeClass,
		"clock":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
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
	var recent []store.AuditEntry
	if err == nil {
		recent, err = src.Audit(ctx, "", statusRecent)
	}
	if err != nil {
		report.Redis = "unavailable"
	} else {
		report.Stats = &stats
		report.Recent = recent
		if report.Recent == nil {
			report.Recent = []store.AuditEntry{}
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

// statusTemplate is the whole page: one file, inline CSS, no script.
const statusTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailproof status</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:960px;margin:0 auto;padding:24px 16px}
header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap;gap:8px}
h1{font-size:20px;margin:0}
h2{font-size:15px;margin:28px 0 8px}
.muted{color:#6b7280}
.banner{margin:16px 0;padding:12px 14px;border-radius:6px;background:#fdecec;border:1px solid #f3b4b4;color:#8a1c1c}
.banner.warn{background:#fff4dc;border-color:#f0d08a;color:#6b4600}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin-top:16px}
.stat{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:12px 14px}
.num{display:block;font-size:26px;font-weight:600;font-variant-numeric:tabular-nums}
.stat.alert .num{color:#b42318}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #e3e6eb;border-radius:6px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#4b5563;background:#fafbfc}
td.id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
td.err{color:#8a1c1c;word-break:break-word}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef0f3;font-size:12px}
.tag.ok{background:#e3f5e8;color:#1e6b34}
.tag.warn{background:#fff4dc;color:#8a5a00}
.tag.bad{background:#fdecec;color:#8a1c1c}
ul.checks{list-style:none;padding:0;margin:0}
ul.checks li{padding:2px 0}
</style>
</head>
<body>
<main>
<header>
<h1>mailproof</h1>
<span class="muted">updated {{clock .Time}} &middot; refreshes every 5 s &middot; <a href="?format=json">JSON</a></span>
</header>
{{range $name, $r := .Checks}}{{if $r.Warning}}<div class="banner warn" role="status" id="warning-{{$name}}"><strong>Warning:</strong> {{$r.Warning}}</div>
{{end}}{{end}}{{if .Stats}}
<section class="stats" aria-label="queue">
<div class="stat"><span class="num" id="stat-pending">{{.Stats.Pending}}</span>pending users</div>
<div class="stat"><span class="num" id="stat-queued">{{.Stats.Queued}}</span>queued jobs</div>
<div class="stat"><span class="num" id="stat-in-flight">{{.Stats.InFlight}}</span>in flight</div>
<div class="stat"><span class="num" id="stat-delayed">{{.Stats.Delayed}}</span>delayed retries</div>
<div class="stat{{if .Stats.Dead}} alert{{end}}"><span class="num" id="stat-dead">{{.Stats.Dead}}</span>dead letters</div>
{{if .Stats.Undos}}<div class="stat alert"><span class="num" id="stat-undos">{{.Stats.Undos}}</span>flips to take back (an unproven address is verified: see the logs)</div>{{end}}
</section>
<h2>Recent decisions</h2>
{{if .Recent}}
<table>
<thead><tr><th>time (UTC)</th><th>user id</th><th>outcome</th><th>attempt</th><th>error</th></tr></thead>
<tbody>
{{range .Recent}}<tr><td>{{clock .Time}}</td><td class="id">{{.UserID}}</td><td><span class="tag {{outcomeClass .Outcome}}">{{.Outcome}}</span>{{with .Deferral}} <span class="muted">{{.}}</span>{{end}}</td><td>{{.Attempt}}</td><td class="err">{{.Error}}</td></tr>
{{end}}</tbody>
</table>
{{else}}
<p class="muted">No decisions yet.</p>
{{end}}
{{else}}
<div class="banner" role="alert"><strong>Redis unavailable.</strong> Queue counts and recent decisions cannot be read right now. Check MAILPROOF_REDIS_URL and the Redis server; this page keeps retrying.</div>
{{end}}
{{if .Checks}}
<h2>Readiness: {{if .Ready}}ready{{else}}not ready{{end}}</h2>
<ul class="checks">
{{range $name, $r := .Checks}}<li><span class="tag {{if $r.Warning}}warn{{else if $r.OK}}ok{{else}}bad{{end}}">{{if $r.Warning}}warning{{else if $r.OK}}ok{{else}}failing{{end}}</span> {{$name}}{{if $r.Error}} <span class="muted">&mdash; {{$r.Error}}</span>{{end}}{{if $r.Warning}} <span class="muted">&mdash; see the warning above</span>{{end}}</li>
{{end}}</ul>
{{end}}
</main>
</body>
</html>
`
