package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var alertName = regexp.MustCompile(`^Mailproof[A-Z]\w+$`)

// rules returns every alerting rule of rules.yml by alert name, in file order.
func rules(t *testing.T) ([]string, map[string]any) {
	t.Helper()
	var names []string
	byName := map[string]any{}
	for _, g := range list(at(readYAML(t, "prometheus/rules.yml")[0], "groups")) {
		if at(g, "name") == nil || len(list(at(g, "rules"))) == 0 {
			t.Errorf("group %v: want a name and rules", at(g, "name"))
		}
		for _, r := range list(at(g, "rules")) {
			name := fmt.Sprint(at(r, "alert"))
			if _, dup := byName[name]; dup || !alertName.MatchString(name) {
				t.Errorf("alert %q: duplicate or not named Mailproof…", name)
			}
			names, byName[name] = append(names, name), r
		}
	}
	return names, byName
}

func TestPrometheusRules(t *testing.T) {
	cat := loadCatalogue(t)
	names, byName := rules(t)
	used := map[string]bool{}
	for _, name := range names {
		r := byName[name]
		problems, metrics, _ := cat.check(fmt.Sprint(at(r, "expr")))
		for _, p := range problems {
			t.Errorf("%s: expr: %s", name, p)
		}
		for _, m := range metrics {
			used[m] = true
		}
		if f := at(r, "for"); f != nil {
			if _, err := time.ParseDuration(fmt.Sprint(f)); err != nil {
				t.Errorf("%s: for %v: %v", name, f, err)
			}
		}
		if sev := at(r, "labels", "severity"); sev != "critical" && sev != "warning" {
			t.Errorf("%s: severity %v, want critical or warning", name, sev)
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			text, _ := at(r, "annotations", a).(string)
			if strings.TrimSpace(text) == "" || strings.Count(text, "{{") != strings.Count(text, "}}") {
				t.Errorf("%s: annotation %s %q is empty or has unbalanced {{ }}", name, a, text)
			}
		}
		if runbook, _ := at(r, "annotations", "runbook").(string); strings.Count(runbook, "\n") < 3 {
			t.Errorf("%s: runbook has %d lines, want steps someone can follow at 3 a.m.", name, strings.Count(runbook, "\n"))
		}
	}
	for _, m := range []string{"mailproof_jobs_total", "mailproof_signature_failures_total", "mailproof_events_total", "up", "mailproof_job_retries_total", "mailproof_ingest_duration_seconds_bucket", "mailproof_flip_undos_total", "mailproof_queue_oldest_job_age_seconds"} {
		if !used[m] {
			t.Errorf("no rule uses %s", m)
		}
	}
}

// TestRuleUnitTests checks that rules_test.yml tests the expressions rules.yml really
// has, each one firing and staying quiet at least once.
func TestRuleUnitTests(t *testing.T) {
	names, byName := rules(t)
	alertOf := map[string]string{}
	for _, name := range names {
		alertOf[strings.Join(strings.Fields(fmt.Sprint(at(byName[name], "expr"))), " ")] = name
	}
	doc := readYAML(t, "prometheus/rules_test.yml")[0]
	if files := at(doc, "rule_files"); !slices.Equal(list(files), []any{"rules.yml"}) {
		t.Errorf("rule_files %v, want [rules.yml]", files)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range list(at(doc, "tests")) {
		for _, e := range list(at(tc, "promql_expr_test")) {
			alert, ok := alertOf[strings.Join(strings.Fields(fmt.Sprint(at(e, "expr"))), " ")]
			if !ok {
				t.Errorf("test %v: expr %q is not copied verbatim from rules.yml", at(tc, "name"), at(e, "expr"))
			}
			if len(list(at(e, "exp_samples"))) > 0 {
				fires[alert] = true
			} else {
				quiet[alert] = true
			}
		}
	}
	for _, name := range names {
		if !fires[name] || !quiet[name] {
			t.Errorf("%s: tested firing %v, quiet %v; want both", name, fires[name], quiet[name])
		}
	}
}

// TestPromtool runs Prometheus's own checker and the unit tests when promtool is
// installed (Debian: apt-get install prometheus).
func TestPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		if os.Getenv("MAILPROOF_TEST_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool not on PATH and MAILPROOF_TEST_REQUIRE_PROMTOOL=1 (CI): install Debian's prometheus package")
		}
		t.Skip("promtool not on PATH; the rules were checked structurally only")
	}
	for _, args := range [][]string{{"check", "rules", "prometheus/rules.yml"}, {"test", "rules", "prometheus/rules_test.yml"}} {
		if out, err := exec.Command("promtool", args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestServiceMonitor(t *testing.T) {
	objs, _ := k8sObjects(t)
	sm := readYAML(t, "prometheus/servicemonitor.yaml")[0]
	ops, mainSvc := objs["Service/mailproof-ops"], objs["Service/mailproof"]
	selects := func(svc any) bool {
		for k, v := range dict(at(sm, "spec", "selector", "matchLabels")) {
			if at(svc, "metadata", "labels", k) != v {
				return false
			}
		}
		return true
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"selects the ops Service", selects(ops), true},
		{"does not select the main Service", selects(mainSvc), false},
		{"scrapes the ops port", at(sm, "spec", "endpoints", 0, "port"), at(ops, "spec", "ports", 0, "name")},
		{"job label is the job the rules expect", at(ops, "metadata", "labels", at(sm, "spec", "jobLabel")), "mailproof"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

type dashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	Templating    struct {
		List []templateVar
	}
	Panels []struct {
		ID          int
		Type, Title string
		Description string
		Datasource  datasource
		GridPos     struct{ X, Y, W, H int }
		Targets     []struct {
			RefID        string `json:"refId"`
			Expr         string
			LegendFormat string `json:"legendFormat"`
			Datasource   datasource
		}
	}
}

type templateVar struct {
	Name, Type, Query string
	Datasource        *datasource
}

type datasource struct{ Type, UID string }

var legendLabel = regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)

func TestDashboard(t *testing.T) {
	cat := loadCatalogue(t)
	b, err := os.ReadFile("grafana/mailproof.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("mailproof.json: %v", err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want a current Grafana (36 or later)", d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v templateVar) bool {
		return v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("templating: no DS_PROMETHEUS datasource variable")
	}
	want := datasource{Type: "prometheus", UID: "${DS_PROMETHEUS}"}
	for _, v := range d.Templating.List {
		if v.Datasource != nil && *v.Datasource != want {
			t.Errorf("variable %s: datasource %+v, want %+v", v.Name, *v.Datasource, want)
		}
	}
	ids := map[int]bool{}
	grouped := map[string][]string{} // metric → labels some panel groups it by
	cells := map[[2]int]string{}     // grid cell → title of the panel covering it
	for _, p := range d.Panels {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] || p.Title == "" || p.Description == "" || p.Datasource != want {
			t.Errorf("%s: duplicate id, no title or description, or datasource %+v (want %+v)", where, p.Datasource, want)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", where, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, taken := cells[[2]int{x, y}]; taken {
					t.Fatalf("%s overlaps panel %q at column %d, row %d", where, other, x, y)
				}
				cells[[2]int{x, y}] = p.Title
			}
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", where)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			problems, used, by := cat.check(q.Expr)
			for _, pr := range problems {
				t.Errorf("%s: %s: %s", where, q.Expr, pr)
			}
			if refs[q.RefID] || q.Datasource != want {
				t.Errorf("%s: refId %q repeated or datasource %+v", where, q.RefID, q.Datasource)
			}
			refs[q.RefID] = true
			for _, l := range legendLabel.FindAllStringSubmatch(q.LegendFormat, -1) {
				if !slices.Contains(by, l[1]) && !slices.Contains(targetLabels, l[1]) {
					t.Errorf("%s: legend {{%s}} is not a label of %q", where, l[1], q.Expr)
				}
			}
			for _, m := range used {
				grouped[m] = append(grouped[m], by...)
			}
		}
	}
	for metric, labels := range map[string][]string{
		"mailproof_events_total":                   {"outcome"},
		"mailproof_ingest_duration_seconds_bucket": {"le"},
		"mailproof_jobs_total":                     {"outcome"},
		"mailproof_job_retries_total":              {"reason"},
		"mailproof_signature_failures_total":       {"reason"},
		"mailproof_signature_key_matches_total":    {"key_id"},
		"mailproof_http_requests_total":            {"route", "code"},
		"mailproof_queue_jobs":                     nil,
		"mailproof_queue_oldest_job_age_seconds":   nil,
		"mailproof_queue_delayed_jobs":             nil,
		"mailproof_dead_letters":                   nil,
		"mailproof_pending_records":                nil,
		"mailproof_backlog_scrape_errors_total":    nil,
		"go_goroutines":                            nil,
		"go_memstats_heap_inuse_bytes":             nil,
	} {
		got, shown := grouped[metric]
		for _, l := range labels {
			shown = shown && slices.Contains(got, l)
		}
		if !shown {
			t.Errorf("no panel shows %s by %v", metric, labels)
		}
	}
}
