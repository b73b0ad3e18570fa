package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// csvProgress shows how a bulk run is going: a bar with rate and time left on a
// terminal, else a plain line every interval (logs, CI, a pipe).
type csvProgress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar // nil: plain lines
	total int64                    // estimated data rows; -1 if unknown
	start time.Time
}

func newCSVProgress(w io.Writer, isTerminal bool, total int64) *csvProgress {
	p := &csvProgress{w: w, total: total, start: time.Now()}
	if isTerminal {
		if total <= 0 {
			total = -1 // a spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("provision"),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionShowIts(),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of its own
		)
	}
	return p
}

// row counts one finished row on the bar.
func (p *csvProgress) row() {
	if p.bar != nil {
		p.bar.Add(1) // an error is only an estimate exceeded
	}
}

// tick prints the periodic line when there is no bar.
func (p *csvProgress) tick(s *csvSummary) {
	if p.bar != nil {
		return
	}
	elapsed := time.Since(p.start)
	rate := float64(s.Rows) / elapsed.Seconds()
	of, left := "", ""
	if p.total > 0 {
		of = fmt.Sprintf("/%d", p.total)
		if rate > 0 && p.total > int64(s.Rows) {
			left = fmt.Sprintf(", about %s left", time.Duration(float64(p.total-int64(s.Rows))/rate*float64(time.Second)).Round(time.Second))
		}
	}
	fmt.Fprintf(p.w, "provision: %d%s rows, %d done, %d bad, %d failed, %.0f rows/s%s\n",
		s.Rows, of, s.Rows-s.bad()-s.failed(), s.bad(), s.failed(), rate, left)
}

// note prints a line of its own, clear of the bar.
func (p *csvProgress) note(format string, args ...any) {
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// finish settles the bar: full when every row was read, left where it stopped if not.
func (p *csvProgress) finish(s *csvSummary) {
	if p.bar == nil {
		return
	}
	if !s.Interrupted && s.Rows > 0 {
		p.bar.ChangeMax64(int64(s.Rows)) // the estimate counted lines, not rows
		p.bar.Finish()
	}
	p.bar.Exit()
	fmt.Fprintln(p.w)
}

// estimateRows counts the data rows of a regular file by its newlines and rewinds it:
// a newline inside a quoted name or a blank line only makes the estimate high. It is -1
// for a pipe, which cannot be read twice.
func estimateRows(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1, err
	}
	buf := make([]byte, 64<<10)
	lines, last := int64(0), byte('\n')
	for {
		n, err := f.Read(buf)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if n > 0 {
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return -1, err
		}
	}
	if last != '\n' {
		lines++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return -1, err
	}
	return max(lines-1, 0), nil // less the header
}
