package proof

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
)

// export reads the run's user export: it starts the job (or carries on with the one an
// interrupted run started), waits for it, and streams its file, judging the users in
// batches and saving the line reached after each, so memory stays flat however large
// the tenant and a resumed run skips what is done. A handful of Management API calls
// per run: the job, its polls, one more read for each expired download link.
func (r *sweepRun) export(ctx context.Context) (bool, error) {
	for attempt := 0; ; attempt++ {
		if r.st.ExportJob == "" {
			if err := r.startExport(ctx); err != nil {
				return false, err
			}
		}
		location, err := r.awaitExport(ctx)
		if errors.Is(err, auth0client.ErrPermanent) && attempt == 0 {
			// The job is gone (Auth0 keeps one a day): start again from the top.
			r.s.Log.Warn("the sweep's export job is gone; starting a new one", zap.String("job", r.st.ExportJob), zap.Error(err))
			r.st.ExportJob, r.st.Line = "", 0
			continue
		}
		if err != nil {
			return false, err
		}
		done, err := r.readExport(ctx, location)
		if errors.Is(err, auth0client.ErrPermanent) && attempt < 3 {
			// The link expired while we read (it lives a minute): the job gives a fresh
			// one and the cursor says where to carry on.
			continue
		}
		return done, err
	}
}

func (r *sweepRun) startExport(ctx context.Context) error {
	var id string
	err := r.call(ctx, PathExport, func() error {
		var err error
		id, err = r.s.Users.ExportUsers(ctx, "", auth0client.ExportFields)
		return err
	})
	if err != nil {
		return err
	}
	r.st.ExportJob, r.st.Line = id, 0
	return r.save(ctx)
}

// awaitExport polls the job until it completes, waiting longer each time (up to
// PollMax), and returns its download link.
func (r *sweepRun) awaitExport(ctx context.Context) (string, error) {
	wait := 250 * time.Millisecond
	for {
		var status, location string
		err := r.call(ctx, "export_poll", func() error {
			var err error
			status, location, err = r.s.Users.ExportJob(ctx, r.st.ExportJob)
			return err
		})
		if err != nil {
			return "", err
		}
		if status == auth0client.ExportCompleted && location != "" {
			return location, nil
		}
		if status != auth0client.ExportPending && status != auth0client.ExportProcessing {
			return "", fmt.Errorf("export job %s ended %q: %w", r.st.ExportJob, status, auth0client.ErrPermanent)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return "", err
		}
		wait = min(wait*2, r.cfg.PollMax)
	}
}

// readExport streams the file from the cursor's line on.
func (r *sweepRun) readExport(ctx context.Context, location string) (bool, error) {
	body, err := r.s.Users.DownloadExport(ctx, location)
	if err != nil {
		return false, err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var line int64
	batch := make([]auth0client.User, 0, sweepBatch)
	flush := func() error {
		if err := r.consider(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		if r.limited() {
			return nil
		}
		r.st.Line = line
		if err := r.save(ctx); err != nil {
			return err
		}
		r.progress()
		return nil
	}
	for sc.Scan() {
		line++
		if line <= r.st.Line {
			continue
		}
		u, err := auth0client.DecodeExportLine(sc.Bytes())
		if err != nil {
			r.s.Log.Warn("skipping an export line that does not decode", zap.Int64("line", line), zap.Error(err))
			continue
		}
		if batch = append(batch, u); len(batch) == sweepBatch {
			if err := flush(); err != nil || r.limited() {
				return false, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read the export at line %d: %w: %w", line, auth0client.ErrTransient, err)
	}
	if err := flush(); err != nil || r.limited() {
		return false, err
	}
	return true, nil
}
