package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// catalogue is what the queries may refer to: every metric the code declares, with its
// kind and labels, and every string literal of that code (the possible label values).
type catalogue struct {
	metrics  map[string]metricInfo
	literals map[string]bool
}

type metricInfo struct {
	kind   string // counter, gauge, histogram, summary or external
	labels []string
	own    bool // declared by mailproof, so its label values are checked too
}

// targetLabels are attached by Prometheus to every scraped series, not by mailproof.
var targetLabels = []string{"job", "instance", "namespace", "pod"}

var (
	metricDecl = regexp.MustCompile(`(?s)prometheus\.New(Counter|Gauge|Histogram|Summary)(?:Vec)?\(prometheus\.\w+Opts\{\s*Name:\s*"(\w+)".*?\}(?:,\s*\[\]string\{([^}]*)\})?\)`)
	// descDecl is a metric a Collector builds at scrape time; mailproof's are gauges.
	descDecl   = regexp.MustCompile(`prometheus\.NewDesc\(\s*"(\w+)",\s*"(?:[^"\\]|\\.)*",\s*(?:nil|\[\]string\{([^}]*)\})`)
	goString   = regexp.MustCompile(`"([^"\\]*)"`)
	selector   = regexp.MustCompile(`([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}`)
	matcher    = regexp.MustCompile(`^\s*(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$`)
	grouping   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	identifier = regexp.MustCompile(`\b[a-zA-Z_:][\w:]*\b\s*\(?`)
	rangeSel   = regexp.MustCompile(`\[[^\]]*\]`)
	labelSet   = regexp.MustCompile(`\{[^}]*\}`)
	keywords   = []string{"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring", "inf", "nan"}
)

// loadCatalogue reads the metric declarations of handlers/, server/, proof/ and store/ (the grep the
// Go source allows: the metrics are built inside unexported constructors) and asks the
// real Go and process collectors which names they expose.
func loadCatalogue(t *testing.T) catalogue {
	t.Helper()
	cat := catalogue{metrics: map[string]metricInfo{
		"up": {kind: "external"},
		"kube_deployment_status_replicas_available": {kind: "external", labels: []string{"deployment"}},
	}, literals: map[string]bool{}}
	for _, dir := range []string{"../handlers", "../server", "../proof", "../store", "../webhook"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go source in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range metricDecl.FindAllStringSubmatch(string(b), -1) {
				info := metricInfo{kind: strings.ToLower(m[1]), own: true}
				for _, l := range goString.FindAllStringSubmatch(m[3], -1) {
					info.labels = append(info.labels, l[1])
				}
				cat.metrics[m[2]] = info
			}
			for _, m := range descDecl.FindAllStringSubmatch(string(b), -1) {
				// A Desc does not say its kind; the catalogue takes it for a gauge, so
				// a counter must be declared with NewCounter, where the kind is written.
				if strings.HasSuffix(m[1], "_total") {
					t.Errorf("%s: %s looks like a counter; declare counters with prometheus.NewCounter", f, m[1])
				}
				info := metricInfo{kind: "gauge", own: true}
				for _, l := range goString.FindAllStringSubmatch(m[2], -1) {
					info.labels = append(info.labels, l[1])
				}
				cat.metrics[m[1]] = info
			}
			for _, s := range goString.FindAllStringSubmatch(string(b), -1) {
				cat.literals[s[1]] = true
			}
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		cat.metrics[f.GetName()] = metricInfo{kind: strings.ToLower(f.GetType().String())}
	}
	return cat
}

// resolve maps a series name to its metric, accepting a histogram's _bucket, _sum and
// _count series (a _bucket also carries le).
func (c catalogue) resolve(name string) (metricInfo, bool) {
	if m, ok := c.metrics[name]; ok {
		return m, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suffix)
		if m, ok := c.metrics[base]; cut && ok && (m.kind == "histogram" || m.kind == "summary" && suffix != "_bucket") {
			if suffix == "_bucket" {
				m.labels = append(slices.Clone(m.labels), "le")
			}
			return m, true
		}
	}
	return metricInfo{}, false
}

// check looks at one PromQL expression the way a reviewer would: balanced brackets,
// metrics that exist, labels those metrics carry, label values the code can produce,
// and grouping labels that exist. It returns the problems, the metrics used and the
// labels the expression groups by.
func (c catalogue) check(expr string) (problems, used, by []string) {
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	depth := map[rune]int{}
	for _, r := range expr {
		switch r {
		case '(', '[', '{':
			depth[r]++
		case ')':
			depth['(']--
		case ']':
			depth['[']--
		case '}':
			depth['{']--
		}
	}
	for open, d := range depth {
		if d != 0 {
			bad("unbalanced %c", open)
		}
	}
	allowed := map[string]bool{"le": true}
	for _, l := range targetLabels {
		allowed[l] = true
	}
	for _, s := range selector.FindAllStringSubmatch(expr, -1) {
		m, ok := c.resolve(s[1])
		if !ok {
			continue // reported below with every other unknown name
		}
		for _, part := range strings.Split(s[2], ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mm := matcher.FindStringSubmatch(part)
			if mm == nil {
				bad("%s: matcher %q is not label=\"value\"", s[1], part)
				continue
			}
			label, op, value := mm[1], mm[2], mm[3]
			switch {
			case !slices.Contains(m.labels, label) && !slices.Contains(targetLabels, label):
				bad("%s has no label %q (labels %v)", s[1], label, m.labels)
			case m.own && label != "le" && slices.Contains(m.labels, label) && (op == "=" || op == "!=") && !strings.Contains(value, "$") && !c.literals[value]:
				bad("%s{%s=%q}: mailproof never sets that value", s[1], label, value)
			}
		}
	}
	stripped := goString.ReplaceAllString(expr, `""`)
	stripped = rangeSel.ReplaceAllString(stripped, "")
	stripped = labelSet.ReplaceAllString(stripped, "")
	for _, g := range grouping.FindAllStringSubmatch(stripped, -1) {
		if g[1] == "by" || g[1] == "without" {
			for _, l := range strings.Split(g[2], ",") {
				if l = strings.TrimSpace(l); l != "" {
					by = append(by, l)
				}
			}
		}
	}
	stripped = grouping.ReplaceAllString(stripped, "")
	for _, id := range identifier.FindAllString(stripped, -1) {
		if strings.HasSuffix(id, "(") {
			continue // a function call
		}
		if id = strings.TrimSpace(id); slices.Contains(keywords, strings.ToLower(id)) {
			continue
		}
		m, ok := c.resolve(id)
		if !ok {
			bad("unknown metric %s", id)
			continue
		}
		used = append(used, id)
		for _, l := range m.labels {
			allowed[l] = true
		}
	}
	for _, l := range by {
		if !allowed[l] {
			bad("groups by %q, which none of %v carries", l, used)
		}
	}
	return problems, used, by
}

func TestPromQLCheck(t *testing.T) {
	cat := loadCatalogue(t)
	tests := []struct {
		name, expr, wantProblem string
	}{
		{name: "valid counter by outcome", expr: `sum by (outcome) (rate(mailproof_jobs_total{outcome="dead_letter", instance=~"$instance"}[5m]))`},
		{name: "valid histogram quantile", expr: `histogram_quantile(0.99, sum by (le) (rate(mailproof_ingest_duration_seconds_bucket[$__rate_interval]))) > 0.5`},
		{name: "valid collector metric", expr: `go_goroutines{job="mailproof"} and on () absent(up{job="mailproof"})`},
		{name: "misspelt metric", expr: `rate(mailproof_job_total[5m])`, wantProblem: "unknown metric mailproof_job_total"},
		{name: "misspelt collector metric", expr: `go_goroutine`, wantProblem: "unknown metric go_goroutine"},
		{name: "bucket of a counter", expr: `mailproof_jobs_total_bucket`, wantProblem: "unknown metric"},
		{name: "unknown label", expr: `mailproof_jobs_total{reson="x"}`, wantProblem: `no label "reson"`},
		{name: "label value the code never sets", expr: `mailproof_jobs_total{outcome="dead_leter"}`, wantProblem: "never sets"},
		{name: "unquoted value", expr: `mailproof_jobs_total{outcome=dead_letter}`, wantProblem: "matcher"},
		{name: "grouping by a missing label", expr: `sum by (rason) (rate(mailproof_job_retries_total[5m]))`, wantProblem: `groups by "rason"`},
		{name: "unbalanced", expr: `sum(rate(mailproof_jobs_total[5m])`, wantProblem: "unbalanced ("},
	}
	for _, tc := range tests {
		problems, _, _ := cat.check(tc.expr)
		got := strings.Join(problems, "; ")
		if (tc.wantProblem == "") != (got == "") || !strings.Contains(got, tc.wantProblem) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.wantProblem)
		}
	}
}
