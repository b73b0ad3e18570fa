package handlers

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
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin-top:16px}
.stat{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:12px 14px}
.num{display:block;font-size:24px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.stat.alert .num{color:#b42318}
.scroll{overflow-x:auto;background:#fff;border:1px solid #e3e6eb;border-radius:6px}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eef0f3;vertical-align:baseline}
th{font-weight:600;color:#4b5563;background:#fafbfc;white-space:nowrap}
tr:last-child td{border-bottom:0}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
td.id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;white-space:nowrap}
td.err{color:#8a1c1c;min-width:16em;overflow-wrap:anywhere}
.tag{display:inline-block;padding:1px 8px;border-radius:10px;background:#eef0f3;font-size:12px}
.tag.ok{background:#e3f5e8;color:#1e6b34}
.tag.warn{background:#fff4dc;color:#8a5a00}
.tag.bad{background:#fdecec;color:#8a1c1c}
ul.checks{list-style:none;padding:0;margin:0}
ul.checks li{padding:2px 0;overflow-wrap:anywhere}
</style>
</head>
<body>
<main>
<header>
<h1>mailproof</h1>
<span class="muted">updated <time id="updated" datetime="{{iso .Time}}">{{clock .Time}}</time> &middot; refreshes every 5&nbsp;s &middot; <a href="?format=json">JSON</a></span>
</header>
{{range $name, $r := .Checks}}{{if $r.Warning}}<div class="banner warn" role="status" id="warning-{{$name}}"><strong>Warning:</strong> {{$r.Warning}}</div>
{{end}}{{end}}{{if .Stats}}
<section class="stats" aria-label="queue">
<div class="stat"><span class="num" id="stat-pending">{{.Stats.Pending}}</span>pending users</div>
<div class="stat"><span class="num" id="stat-queued">{{.Stats.Queued}}</span>queued jobs</div>
<div class="stat"><span class="num" id="stat-in-flight">{{.Stats.InFlight}}</span>in flight</div>
<div class="stat"><span class="num" id="stat-delayed">{{.Stats.Delayed}}</span>delayed retries</div>
<div class="stat{{if .Stats.Dead}} alert{{end}}"><span class="num" id="stat-dead">{{.Stats.Dead}}</span>dead letters</div>
<div class="stat{{if stale .Stats.OldestQueuedSeconds}} alert{{end}}"><span class="num" id="stat-oldest-queued" data-seconds="{{decimal .Stats.OldestQueuedSeconds}}">{{if .Stats.Queued}}{{age .Stats.OldestQueuedSeconds}}{{else}}&ndash;{{end}}</span>oldest queued job</div>
{{if .Stats.Undos}}<div class="stat alert"><span class="num" id="stat-undos">{{.Stats.Undos}}</span>flips to take back (an unproven address is verified: see the logs)</div>{{end}}
</section>
<h2>Recent decisions</h2>
{{if .Recent}}
<div class="scroll"><table id="recent">
<thead><tr><th>time (UTC)</th><th>user id</th><th>outcome</th><th>attempt</th><th>error</th></tr></thead>
<tbody>
{{range .Recent}}<tr><td class="time"><time datetime="{{iso .Time}}">{{clock .Time}}</time></td><td class="id">{{.UserID}}</td><td><span class="tag {{outcomeClass .Outcome}}">{{.Outcome}}</span>{{with .Deferral}} <span class="muted">{{.}}</span>{{end}}</td><td>{{if .Attempt}}{{.Attempt}}{{end}}</td><td class="err">{{.Error}}</td></tr>
{{end}}</tbody>
</table></div>
{{else}}
<p class="muted">No decisions yet.</p>
{{end}}
<h2>Waiting longest</h2>
{{if .Waiting}}
<div class="scroll"><table id="waiting">
<thead><tr><th>user id</th><th>status</th><th>provisioned (UTC)</th><th>waiting</th><th>deliveries</th></tr></thead>
<tbody>
{{range .Waiting}}<tr><td class="id">{{.UserID}}</td><td><span class="tag">{{.Status}}</span></td><td class="time"><time datetime="{{iso .ProvisionedAt}}">{{clock .ProvisionedAt}}</time></td><td class="time" data-seconds="{{decimal .WaitingSeconds}}">{{age .WaitingSeconds}}</td><td>{{.Deliveries}}</td></tr>
{{end}}</tbody>
</table></div>
{{else}}
<p class="muted">No users waiting.</p>
{{end}}
<h2>Reconcile sweep</h2>
<ul class="checks" id="sweep">
{{with .Sweep}}<li id="sweep-last">{{if .LastRun}}last completed: <span class="tag ok">{{.LastPath}}</span> run {{.LastRun}}, at <time datetime="{{iso .LastSuccess}}">{{clock .LastSuccess}}</time> (<span data-seconds="{{seconds $.Time .LastSuccess}}">{{since $.Time .LastSuccess}}</span> ago){{else}}no run has completed yet{{end}}</li>
<li id="sweep-open">{{if .Running}}run open: <span class="tag warn">{{.Path}}</span> run {{.Run}}, started <time datetime="{{iso .StartedAt}}">{{clock .StartedAt}}</time> (<span data-seconds="{{seconds $.Time .StartedAt}}">{{since $.Time .StartedAt}}</span> ago){{else}}no run open{{end}}</li>
{{end}}</ul>
{{else}}
<div class="banner" role="alert"><strong>Redis unavailable.</strong> Queue counts, recent decisions, the records waiting and the sweep cannot be read right now. Check MAILPROOF_REDIS_URL and the Redis server; this page keeps retrying.</div>
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
