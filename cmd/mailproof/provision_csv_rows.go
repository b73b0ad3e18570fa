package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/proof"
)

// The columns of a provisioning CSV. Only email is required; the order is free.
const (
	colEmail      = "email"
	colName       = "name"
	colConnection = "connection"
	colDelivery   = "delivery"
	csvColumnList = "email, name, connection, delivery"
)

// The statuses of bad rows, which are never sent.
const (
	statusInvalid   = "invalid"   // unreadable, or not a request
	statusDuplicate = "duplicate" // an earlier row has the same address
)

// maxRowBytes bounds one row. encoding/csv keeps a quoted field open across lines until
// its closing quote, so one stray quote would otherwise pull the rest of a million-row
// file into memory; no real row comes near this.
const maxRowBytes = 1 << 20

// asciiSpace is what NormalizeEmail trims. Trimming Unicode spaces too would turn
// "kate@example.com\u00a0" into a valid address the operator never wrote.
const asciiSpace = " \t\n\v\f\r"

// errRowTooLong stops the run: the parser cannot find the next row after it.
var errRowTooLong = fmt.Errorf("a row longer than %d KiB: is a quote left open?", maxRowBytes>>10)

// csvRow is one data row of the file: a request to make, or why the row is bad.
type csvRow struct {
	line   int    // where the row starts in the file; the header is line 1
	email  string // as written, less surrounding ASCII whitespace; "" if the row has none
	status string // "" for a good row, else statusInvalid or statusDuplicate
	reason string // a bad row's reason, safe to print: it never holds the address
	detail string // more on the reason for the results file (it may quote the row)
	req    proof.ProvisionRequest
}

// rowReader streams the rows of a provisioning CSV in constant memory, save for one
// 64-bit hash per good row to recognise repeated addresses.
type rowReader struct {
	cr       *csv.Reader
	guard    *boundedReader
	col      [4]int // field index of email, name, connection, delivery; -1 if absent
	defaults proof.ProvisionRequest
	last     int // the line of the latest row read
	seed     maphash.Seed
	// seen holds a 64-bit hash of the normalized address of each good row so far, not
	// the address: about 11 bytes a row, 11 MB for a million. Two addresses with the
	// same hash would make the later a false duplicate; with a per-run random seed that
	// is a 1-in-2^64 chance per pair, accepted. Hence a duplicate is only ever "of an
	// earlier row": the set cannot say which.
	seen *hashSet
}

// newRowReader reads the header row of r. A missing header, an unknown or repeated
// column, or no email column refuses the whole file before anything is provisioned:
// a typo in the header would otherwise drop a column from every row.
// expectRows sizes the duplicate set; < 1 is unknown.
func newRowReader(r io.Reader, defaults proof.ProvisionRequest, expectRows int64) (*rowReader, error) {
	g := &boundedReader{r: r}
	br := bufio.NewReader(g)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\uFEFF")) {
		br.Discard(3) // a byte order mark, as spreadsheet programs write UTF-8
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true // the row's strings are fresh; only the slice is reused
	rr := &rowReader{cr: cr, guard: g, col: [4]int{-1, -1, -1, -1}, defaults: defaults,
		seed: maphash.MakeSeed(), seen: newHashSet(expectRows)}

	header, err := cr.Read() // FieldsPerRecord 0: every row must have the header's count
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file is empty: it needs a header row naming its columns (%s)", csvColumnList)
	}
	if err != nil {
		return nil, fmt.Errorf("the header row: %w", err)
	}
	for i, h := range header {
		name := strings.ToLower(strings.Trim(h, asciiSpace))
		at := columnIndex(name)
		switch {
		case strings.Contains(h, "@"):
			return nil, fmt.Errorf("line 1 holds an address, not a header: the first row must name the columns (%s)", csvColumnList)
		case name == "":
			return nil, fmt.Errorf("line 1: column %d has no name: the columns are %s", i+1, csvColumnList)
		case at < 0:
			return nil, fmt.Errorf("line 1: unknown column %q: the columns are %s", h, csvColumnList)
		case rr.col[at] >= 0:
			return nil, fmt.Errorf("line 1: column %q appears twice", name)
		}
		rr.col[at] = i
	}
	if rr.col[0] < 0 {
		return nil, fmt.Errorf("line 1: no %q column: it is the one column required", colEmail)
	}
	rr.last = 1
	return rr, nil
}

// columnIndex is the index of a column in rowReader.col, -1 for an unknown name.
func columnIndex(name string) int {
	switch name {
	case colEmail:
		return 0
	case colName:
		return 1
	case colConnection:
		return 2
	case colDelivery:
		return 3
	}
	return -1
}

// next returns the next data row, good or bad; io.EOF after the last. Any other error
// means the rest of the file cannot be read.
func (rr *rowReader) next() (csvRow, error) {
	rr.guard.start = rr.cr.InputOffset()
	rec, err := rr.cr.Read()
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		rr.last = perr.StartLine
		row := csvRow{line: perr.StartLine, status: statusInvalid, email: rr.field(rec, 0)}
		row.reason, row.detail = parseReason(perr, len(rec), rr.cr.FieldsPerRecord), perr.Error()
		return row, nil
	}
	if err != nil {
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("the row after line %d: %w", rr.last, err)
		}
		return csvRow{}, err
	}
	rr.last, _ = rr.cr.FieldPos(0)
	row := csvRow{line: rr.last, email: rr.field(rec, 0)}
	row.req = rr.defaults
	row.req.Email = row.email
	if s := rr.field(rec, 1); s != "" {
		row.req.Name = s
	}
	if s := rr.field(rec, 2); s != "" {
		row.req.Connection = s
	}
	if s := rr.field(rec, 3); s != "" {
		row.req.Delivery = strings.ToLower(s)
	}
	row.reason, row.detail = addressProblem(row.email)
	switch {
	case row.reason != "":
		row.status = statusInvalid
	case row.req.Delivery != "" && row.req.Delivery != proof.DeliveryResetEmail && row.req.Delivery != proof.DeliveryTicket:
		row.status, row.reason = statusInvalid, fmt.Sprintf("unknown delivery %q: want %s or %s",
			row.req.Delivery, proof.DeliveryResetEmail, proof.DeliveryTicket)
	case !rr.seen.add(maphash.String(rr.seed, event.NormalizeEmail(row.email))):
		row.status, row.reason = statusDuplicate, "duplicate of an earlier row"
	}
	return row, nil
}

// field returns column c of rec without surrounding ASCII whitespace: "" when the file
// has no such column or the row is too short to hold it.
func (rr *rowReader) field(rec []string, c int) string {
	if i := rr.col[c]; i >= 0 && i < len(rec) {
		return strings.Trim(rec[i], asciiSpace)
	}
	return ""
}

// addressProblem says why s is not an address to provision, "" if it is one. Only a
// bare address passes: net/mail must parse it and give back exactly what was written,
// so "Ada <ada@example.com>" or a comment is refused rather than silently rewritten.
// detail is the parser's own words, which may quote s.
func addressProblem(s string) (reason, detail string) {
	if s == "" {
		return "no email", ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "not an email address", err.Error()
	}
	if a.Address != s {
		return "not a bare email address: write the address alone, with no display name or comment", ""
	}
	// net/mail takes any UTF-8 letter (RFC 6532), spaces and invisible ones included: a
	// no-break space pasted after the domain is a typo no mailbox has.
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsGraphic(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Sprintf("not an email address: it holds the invisible or space character %U", r), ""
	}
	return "", ""
}

// parseReason explains a row encoding/csv could not read, without quoting the row.
func parseReason(perr *csv.ParseError, fields, want int) string {
	switch {
	case errors.Is(perr.Err, csv.ErrFieldCount):
		return fmt.Sprintf("%d fields, want %d as in the header", fields, want)
	case errors.Is(perr.Err, csv.ErrBareQuote):
		return `a " in an unquoted field: quote the field and double the quote ("O""Brien")`
	case errors.Is(perr.Err, csv.ErrQuote):
		return `a quoted field is not closed properly: a quote inside it must be doubled ("")`
	}
	return perr.Err.Error()
}

// boundedReader fails a read that would take one row past maxRowBytes: encoding/csv has
// no limit of its own.
type boundedReader struct {
	r     io.Reader
	read  int64 // bytes handed out
	start int64 // the csv.Reader's offset where the row being read starts
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.read-b.start > maxRowBytes {
		return 0, errRowTooLong
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}
