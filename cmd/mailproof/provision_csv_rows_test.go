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

// wantRow is what a row of a fixture should read as; reason is a substring.
type wantRow struct {
	line                       int
	email, status, reason      string
	name, connection, delivery string
}

// readFixture reads every row of testdata/provision/name.
func readFixture(t *testing.T, name string, defaults proof.ProvisionRequest) ([]csvRow, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "provision", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := newRowReader(f, defaults, -1)
	if err != nil {
		return nil, err
	}
	var rows []csvRow
	for {
		row, err := rr.next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func TestRowReader(t *testing.T) {
	defaults := proof.ProvisionRequest{Connection: "Username-Password-Authentication", By: "cli"}
	const upa = "Username-Password-Authentication"
	tests := []struct {
		name    string
		file    string
		want    []wantRow
		wantErr string
	}{
		{name: "byte order mark", file: "bom.csv", want: []wantRow{
			{line: 2, email: "ada@example.com", name: "Ada Lovelace", connection: upa}}},
		{name: "CRLF line ends", file: "crlf.csv", want: []wantRow{
			{line: 2, email: "ada@example.com", name: "Ada Lovelace", connection: upa, delivery: "ticket"},
			{line: 3, email: "bob@example.com", name: "Bob Babbage", connection: upa}}},
		{name: "quoted commas and newlines, columns in any order", file: "quoted.csv", want: []wantRow{
			{line: 2, email: "ada@example.com", name: "Lovelace, Ada", connection: upa},
			{line: 3, email: "bob@example.com", name: "Babbage,\nCharles \"Charlie\"", connection: upa},
			{line: 5, email: "cy@example.com", name: "Cy Crafted", connection: upa}}},
		{name: "bad rows are reported and the rest read", file: "bad-rows.csv", want: []wantRow{
			{line: 2, email: "ada@example.com", name: "Ada", connection: upa},
			{line: 3, email: "not-an-address", status: statusInvalid, reason: "not an email address"},
			{line: 4, email: "Bob <bob@example.com>", status: statusInvalid, reason: "not a bare email address"},
			{line: 5, status: statusInvalid, reason: "no email"},
			{line: 6, email: "ADA@Example.com", status: statusDuplicate, reason: "duplicate of an earlier row"},
			{line: 7, email: "cy@example.com", status: statusInvalid, reason: `unknown delivery "fax"`},
			{line: 8, email: "dee@example.com", status: statusInvalid, reason: "2 fields, want 4"},
			{line: 9, email: "eve@example.com", status: statusInvalid, reason: `a " in an unquoted field`},
			// Line 7 was bad, so this is the address's first good row.
			{line: 10, email: "cy@example.com", name: "Cy", connection: "customers-db", delivery: "ticket"},
			// A no-break space is not trimmed: the address is not what was written.
			{line: 11, email: "kate@example.com\u00a0", status: statusInvalid, reason: "not an email address"},
			{line: 12, email: "fay@example.com", name: "Fay", connection: upa, delivery: "reset-email"}}},
		{name: "header only", file: "header-only.csv"},
		{name: "empty file", file: "empty.csv", wantErr: "the file is empty: it needs a header row"},
		{name: "no header", file: "no-header.csv", wantErr: "line 1 holds an address, not a header"},
		{name: "unknown column", file: "unknown-column.csv", wantErr: `line 1: unknown column "nmae": the columns are email, name, connection, delivery`},
		{name: "no email column", file: "no-email-column.csv", wantErr: `line 1: no "email" column`},
		{name: "repeated column", file: "repeated-column.csv", wantErr: `line 1: column "email" appears twice`},
	}
	for _, tc := range tests {
		rows, err := readFixture(t, tc.file, defaults)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(rows) != len(tc.want) {
			t.Errorf("%s: %d rows, want %d", tc.name, len(rows), len(tc.want))
			continue
		}
		for i, w := range tc.want {
			r := rows[i]
			if r.line != w.line || r.email != w.email || r.status != w.status || !strings.Contains(r.reason, w.reason) {
				t.Errorf("%s: row %d is line %d %q %q %q, want line %d %q %q %q", tc.name, i,
					r.line, r.email, r.status, r.reason, w.line, w.email, w.status, w.reason)
			}
			if w.status != "" {
				if strings.Contains(r.reason, "@") {
					t.Errorf("%s: line %d: reason %q quotes the row", tc.name, r.line, r.reason)
				}
				continue
			}
			got := r.req
			if got.Email != w.email || got.Name != w.name || got.Connection != w.connection || got.Delivery != w.delivery || got.By != "cli" {
				t.Errorf("%s: line %d requests %+v, want %q %q %q %q by cli", tc.name, r.line, got,
					w.email, w.name, w.connection, w.delivery)
			}
		}
	}
}

// TestRowReaderRowTooLong: a quote left open must not pull the rest of the file into
// memory; the reader stops with an error after the good rows.
func TestRowReaderRowTooLong(t *testing.T) {
	body := "email,name\nada@example.com,Ada\nbob@example.com,\"Bob\n" +
		strings.Repeat("cy@example.com,Cy\n", 2*maxRowBytes/18)
	rr, err := newRowReader(strings.NewReader(body), proof.ProvisionRequest{}, -1)
	if err != nil {
		t.Fatal(err)
	}
	row, err := rr.next()
	if err != nil || row.email != "ada@example.com" {
		t.Fatalf("first row %+v, %v", row, err)
	}
	_, err = rr.next()
	if !errors.Is(err, errRowTooLong) || !strings.Contains(err.Error(), "the row after line 2") {
		t.Errorf("error %v, want %v after line 2", err, errRowTooLong)
	}
	if rr.guard.read > 2*maxRowBytes {
		t.Errorf("read %d bytes before stopping, want at most %d", rr.guard.read, 2*maxRowBytes)
	}
}
