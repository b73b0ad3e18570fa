package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/proof"
)

// Statuses of the results file besides the proof.Provision* results and the bad rows'
// statusInvalid and statusDuplicate.
const (
	statusUserExists     = proof.ProvisionUserExists // Provision refused: a user mailproof did not create has the address
	statusError          = "error"                   // Provision failed; re-running the command retries the row
	statusWouldProvision = "would_provision"         // --dry-run: a good row, not sent
)

// resultsColumns is the results file's header. ticket_url is filled for delivery=ticket on
// the run that created the ticket: it is the only place the operator gets the link to
// mail, which is also why the file is private to its owner.
const resultsColumns = "line,email,user_id,status,error,ticket_url"

// rowResult is what became of one data row.
type rowResult struct {
	row       csvRow
	status    string
	userID    string
	errText   string // the results file's error column
	ticketURL string
}

// provisionRow provisions one good row. The call does not see ctx's cancellation: Ctrl-C
// stops new rows, not one in flight, so no user is left created and not yet emailed by
// an interrupted call; timeout still bounds it.
func provisionRow(ctx context.Context, p provisioner, row csvRow, timeout time.Duration) rowResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	res, err := p.Provision(ctx, row.req)
	out := rowResult{row: row, status: res.Status, userID: res.Record.UserID, ticketURL: res.TicketURL}
	var exists *proof.UserExistsError
	switch {
	case errors.As(err, &exists):
		out.status, out.userID, out.errText = statusUserExists, exists.UserID, err.Error()
	case errors.Is(err, proof.ErrUserExists):
		out.status, out.errText = statusUserExists, err.Error()
	case err != nil:
		out.status, out.errText = statusError, err.Error()
	}
	return out
}

// badRowResult is the result of a row that is not sent.
func badRowResult(row csvRow) rowResult {
	text := row.reason
	if row.detail != "" {
		text += " (" + row.detail + ")"
	}
	return rowResult{row: row, status: row.status, errText: text}
}

// resultsFile writes the results CSV, one row per data row in the order rows finish:
// the line column ties each to its input row.
type resultsFile struct {
	f    *os.File
	w    *csv.Writer
	rec  []string
	kept string // where an earlier results file at the same path was moved; "" if none
}

// createResults creates the results file at path, private to its owner: it holds the
// operator's addresses and any ticket links. An earlier results file there is kept
// under a name stamped with its modification time rather than overwritten, so the
// ticket links and errors of an interrupted run survive the run that finishes it.
func createResults(path string, input os.FileInfo) (*resultsFile, error) {
	header := strings.Split(resultsColumns, ",")
	r := &resultsFile{rec: make([]string, len(header))}
	old, err := os.Stat(path)
	switch {
	case err == nil && os.SameFile(old, input):
		return nil, fmt.Errorf("the results file %s is the input file: name another with --results", path)
	case err == nil:
		ext := filepath.Ext(path)
		base := strings.TrimSuffix(path, ext) + "." + old.ModTime().UTC().Format("20060102T150405Z")
		for i := 1; ; i++ {
			r.kept = base + ext
			if i > 1 {
				r.kept = fmt.Sprintf("%s-%d%s", base, i, ext) // runs within one second
			}
			if _, err := os.Lstat(r.kept); errors.Is(err, fs.ErrNotExist) {
				break
			}
			if i == 100 {
				return nil, fmt.Errorf("keep the earlier results file %s: %s and 99 more names are taken", path, base+ext)
			}
		}
		if err := os.Rename(path, r.kept); err != nil {
			return nil, fmt.Errorf("keep the earlier results file: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	r.f, r.w = f, csv.NewWriter(f)
	if err := r.w.Write(header); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *resultsFile) write(res rowResult) error {
	r.rec[0], r.rec[1], r.rec[2] = strconv.Itoa(res.row.line), res.row.email, res.userID
	r.rec[3], r.rec[4], r.rec[5] = res.status, res.errText, res.ticketURL
	return r.w.Write(r.rec)
}

// flush pushes what is buffered to the file, so a killed process loses little.
func (r *resultsFile) flush() error {
	r.w.Flush()
	return r.w.Error()
}

// close flushes, syncs and closes the file; the first error wins.
func (r *resultsFile) close() error {
	err := r.flush()
	if serr := r.f.Sync(); err == nil {
		err = serr
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
