package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/proof"
)

// TestRunCSVRefuses: a mistake found before the first row sends nothing and writes no
// results file.
func TestRunCSVRefuses(t *testing.T) {
	tests := []struct {
		name    string
		file    string // a fixture; "" for none
		opts    csvOptions
		wantErr string
	}{
		{name: "concurrency 0", file: "crlf.csv", opts: csvOptions{Concurrency: 0}, wantErr: "--concurrency 0: want 1 to 64"},
		{name: "concurrency 65", file: "crlf.csv", opts: csvOptions{Concurrency: 65}, wantErr: "--concurrency 65: want 1 to 64"},
		{name: "no file", opts: csvOptions{Concurrency: 1}, wantErr: "--csv: no file given"},
		{name: "missing file", opts: csvOptions{Path: filepath.Join(t.TempDir(), "nope.csv"), Concurrency: 1}, wantErr: "no such file"},
		{name: "unknown column", file: "unknown-column.csv", opts: csvOptions{Concurrency: 1},
			wantErr: `unknown-column.csv: line 1: unknown column "nmae": the columns are email, name, connection, delivery; nothing was provisioned`},
		{name: "no header", file: "no-header.csv", opts: csvOptions{Concurrency: 1}, wantErr: "line 1 holds an address, not a header"},
		{name: "results over the input", file: "crlf.csv", opts: csvOptions{Concurrency: 1, Results: "input"},
			wantErr: "is the input file: name another with --results"},
	}
	for _, tc := range tests {
		opts := tc.opts
		if tc.file != "" {
			opts.Path = fixture(t, tc.file)
		}
		if opts.Results == "input" {
			opts.Results = opts.Path
		}
		p := newFakeProvisioner()
		_, err := runCSV(t.Context(), opts, p, io.Discard, false)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
		if len(p.calls) != 0 {
			t.Errorf("%s: %d addresses sent, want none", tc.name, len(p.calls))
		}
		if opts.Path != "" && opts.Results == "" {
			if _, err := os.Stat(opts.Path + ".results.csv"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: a results file was written", tc.name)
			}
		}
	}
}

// TestRunCSVRowTooLong: a quote left open stops the run with the rows before it done.
func TestRunCSVRowTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "open-quote.csv")
	body := "email,name\nada@example.com,Ada\nbob@example.com,\"Bob\n" + strings.Repeat("cy@example.com,Cy\n", 2*maxRowBytes/18)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newFakeProvisioner()
	_, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: 2}, p, io.Discard, false)
	if !errors.Is(err, errRowTooLong) || !strings.Contains(err.Error(), "the rows before it have results in") {
		t.Errorf("error %v, want %v", err, errRowTooLong)
	}
	if got := readResults(t, path+".results.csv"); len(got) != 1 || !strings.Contains(got[2], " created ") {
		t.Errorf("results %v, want line 2 created", got)
	}
}

func TestEstimateRows(t *testing.T) {
	tests := []struct {
		name, body string
		want       int64
	}{
		{"empty", "", 0},
		{"header only", "email\n", 0},
		{"no final newline", "email\na@example.com\nb@example.com", 2},
		{"final newline", "email\na@example.com\nb@example.com\n", 2},
		{"a quoted newline counts high", "email,name\na@example.com,\"A\nB\"\n", 2},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := estimateRows(f)
		rest, _ := io.ReadAll(f)
		f.Close()
		if err != nil || got != tc.want || string(rest) != tc.body {
			t.Errorf("%s: %d, %v, then read %q; want %d, rewound", tc.name, got, err, rest, tc.want)
		}
	}
}

func TestCSVProgressLine(t *testing.T) {
	var out strings.Builder
	p := newCSVProgress(&out, false, 1000)
	sum := csvSummary{Rows: 100, Statuses: map[string]int{proof.ProvisionCreated: 90, statusInvalid: 4, statusDuplicate: 1, statusError: 5}}
	p.tick(&sum)
	want := "provision: 100/1000 rows, 90 done, 5 bad, 5 failed, "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), " rows/s, about ") || !strings.HasSuffix(out.String(), " left\n") {
		t.Errorf("progress line %q, want %q... rows/s, about ... left", out.String(), want)
	}
}

// TestRunCSVKeepsEarlierResults: a run never overwrites the results of an earlier one,
// which may hold the only copy of its ticket links, however quickly they follow.
func TestRunCSVKeepsEarlierResults(t *testing.T) {
	path := fixture(t, "crlf.csv")
	kept := map[string]bool{}
	for i := range 3 {
		sum, err := runCSV(t.Context(), csvOptions{Path: path, Concurrency: 1, DryRun: true}, nil, io.Discard, false)
		if err != nil {
			t.Fatal(err)
		}
		if (sum.KeptResults == "") != (i == 0) || kept[sum.KeptResults] {
			t.Errorf("run %d kept the earlier results as %q; kept before: %v", i, sum.KeptResults, kept)
		}
		kept[sum.KeptResults] = true
	}
	for k := range kept {
		if k == "" {
			continue
		}
		if got := readResults(t, k); len(got) != 2 {
			t.Errorf("%s: %d results, want 2", k, len(got))
		}
	}
	st, err := os.Stat(path + ".results.csv")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("results file mode %v, want 0600: it holds addresses and ticket links", st.Mode())
	}
}
