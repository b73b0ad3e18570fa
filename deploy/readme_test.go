package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/server"
)

// readmeRows returns the first cell of every table row of the README section titled
// heading, backticks removed.
func readmeRows(t *testing.T, heading string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README has no %q section", heading)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	rows := map[string]string{}
	cell := regexp.MustCompile("^\\| `([A-Za-z0-9_]+)`[^|]*\\| ([^|]*)\\|")
	for _, line := range strings.Split(section, "\n") {
		if m := cell.FindStringSubmatch(line); m != nil {
			rows[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return rows
}

// TestREADMEConfigurationTable: every variable mailproof reads is in the README's
// configuration table with its default, and the table names no variable that does not
// exist, so the README stays the configuration's reference.
func TestREADMEConfigurationTable(t *testing.T) {
	rows := readmeRows(t, "## Configuration")
	var known []string
	for _, s := range server.Settings() {
		known = append(known, s.Name)
		got, ok := rows[s.Name]
		switch {
		case !ok:
			t.Errorf("%s: not in the README's configuration table", s.Name)
		case s.Required && got != "required":
			t.Errorf("%s: README default %q, want required", s.Name, got)
		case !s.Required && s.Default != "" && strings.Trim(got, "`") != s.Default:
			t.Errorf("%s: README default %q, want %s", s.Name, got, s.Default)
		}
	}
	for name := range rows {
		if !slices.Contains(known, name) {
			t.Errorf("%s: in the README's configuration table, but mailproof does not read it", name)
		}
	}
}

// TestREADMEMetricsTable: the README lists exactly the metrics mailproof declares.
func TestREADMEMetricsTable(t *testing.T) {
	rows := readmeRows(t, "### Metrics")
	cat := loadCatalogue(t)
	for name, info := range cat.metrics {
		if _, ok := rows[name]; info.own && !ok {
			t.Errorf("%s: declared but not in the README's metrics table", name)
		}
	}
	for name := range rows {
		if info, ok := cat.metrics[name]; !ok || !info.own {
			t.Errorf("%s: in the README's metrics table, but mailproof declares no such metric", name)
		}
	}
	if len(rows) < 10 {
		t.Errorf("the README's metrics table has %d rows; the test reads it wrongly", len(rows))
	}
}
