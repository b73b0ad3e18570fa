package proof

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

// Users is the Management API as the worker needs it.
type Users interface {
	GetUser(ctx context.Context, id string) (auth0client.User, error)
	VerifyEmail(ctx context.Context, id string) (auth0client.User, error)
	UnverifyEmail(ctx context.Context, id string) (auth0client.User, error)
}

// Budget is the Management API rate budget shared by every replica.
type Budget interface {
	Wait(ctx context.Context) error
	// WaitN returns once n calls may be made back to back.
	WaitN(ctx context.Context, n int) error
	Pause(ctx context.Context, until time.Time) error
}

// Undos is the durable list of flips to take back (store.Undo).
type Undos interface {
	ScheduleUndo(ctx context.Context, u store.Undo, held time.Duration) (int, error)
	TakeDueUndos(ctx context.Context, lease time.Duration, limit int) ([]store.Undo, error)
	UndoFailed(ctx context.Context, u store.Undo, next time.Time, cause string) error
	UndoDone(ctx context.Context, userID string, gen int, outcome, result string) (bool, error)
}

// Records is the part of the store that decides who may flip a user.
type Records interface {
	Get(ctx context.Context, userID string) (store.Record, error)
	// Claim moves a pending record to verifying on behalf of holder (the webhook id, the
	// same across retries and reclaims of one event). It reports false when another
	// event holds the record or it is no longer pending.
	Claim(ctx context.Context, userID, holder string) (store.Record, bool, error)
}

// Action is what the worker loop must do with a job after Process.
type Action int

// The actions a Decision can ask for.
const (
	// Ack records the outcome (closing or releasing the record as Decision says) and
	// acknowledges the job.
	Ack Action = iota
	// Retry schedules another attempt no earlier than Decision.NotBefore.
	Retry
	// DeadLetter gives up: the job needs a person.
	DeadLetter
)

// Deferral says why a Retry is not the job's fault: the job was told to wait, so the
// worker schedules it again without counting an attempt. "" is an ordinary retry.
type Deferral string

// RetryTransient labels a counted retry in mailproof_job_retries_total, beside the
// deferral reasons that do not count.
const RetryTransient = "transient"

// The reasons a job may be deferred; they double as metric labels.
const (
	// DeferRateLimited: Auth0 answered 429; NotBefore is its rate-limit reset.
	DeferRateLimited Deferral = "rate_limited"
	// DeferUserBusy: another event for the same user holds the verification lock; this
	// one looks again shortly, once that one is done.
	DeferUserBusy Deferral = "user_busy"
	// DeferBudget: the shared Management API budget had no slot before the lease ran out.
	DeferBudget Deferral = "budget_wait"
	// DeferMissingScope: Auth0 refused the call for want of a Management API scope
	// (auth0client.ErrMissingScope). The job is sound and the grant is not: it waits for
	// an operator to grant the scope, and the worker pauses taking jobs meanwhile.
	DeferMissingScope Deferral = "missing_scope"
	// DeferAuth0Down: the Management API failed (5xx, a timeout, a dropped connection)
	// while it had answered nothing for auth0SilentAfter: Auth0 is down for everyone, not
	// failing this job. The job backs off without spending attempts, so an outage longer
	// than the retry schedule leaves work waiting, not dead letters; maxDeferAge bounds it.
	DeferAuth0Down Deferral = "auth0_unavailable"
)

// auth0SilentAfter is how long the Management API must have answered nothing (no 2xx, no
// 4xx) before a failed call counts as Auth0 being down rather than the job failing. Under
// any load Auth0 answers several calls a second, so a healthy Auth0 that fails one job
// still counts that job's attempts; on a quiet replica a job's own failures are all there
// is to go by, and it waits (up to maxDeferAge) rather than being dead-lettered in minutes.
const auth0SilentAfter = 10 * time.Second

// Decision is the result of processing one job.
type Decision struct {
	Action  Action
	Outcome string // an outcome code; "" while a retry is pending
	// Close means the pending record is finished with Outcome (terminal rules, user gone,
	// verified); otherwise a record this job claimed goes back to pending.
	Close     bool
	NotBefore time.Time
	// Defer, on a Retry, says the job only has to wait (see Deferral): the attempt does
	// not count towards the worker's MaxAttempts.
	Defer Deferral
	Err   error // why a retry or a dead letter; for the log and the dead-letter entry
	// MayHaveFlipped says a PATCH was sent and its answer never came. A retry's fresh
	// read settles it; a dead letter cannot, so the worker leaves a Check undo behind.
	MayHaveFlipped bool
	// Undo, on changed_during_flip, says whether the flip was taken back at once
	// ("done") or waits in the undo list ("failed").
	Undo string
	// Run, on a job the reconcile sweep queued, names its run; Calls counts the
	// Management API calls the attempt made, for the run's summary.
	Run   string
	Calls int
}

// Processor turns a queued login into a Decision: the policy table, then a fresh
// Management API read, then the flip. It never acknowledges anything itself, so a crash
// anywhere in here leaves the job to be reclaimed.
type Processor struct {
	Records Records
	Users   Users
	Budget  Budget
	Undos   Undos
	Log     *zap.Logger
	// LastAuth0Answer, when set, is when the Management API last answered anything but a
	// 5xx or 429 (auth0client.Client.LastAnswer). It tells an outage from a failing job:
	// see DeferAuth0Down. Nil counts every transient failure as an attempt.
	LastAuth0Answer func() time.Time
}

// Process applies the policy to one job. Decoding failures are dead letters: the body
// was verified at ingest, so a job that no longer decodes is a bug to look at, not data
// to drop.
func (p *Processor) Process(ctx context.Context, job store.Job) Decision {
	if isSweepJob(job) {
		return p.processSweep(ctx, job)
	}
	ev, err := event.Decode(job.Payload)
	if err != nil {
		return Decision{Action: DeadLetter, Err: fmt.Errorf("decode queued event: %w", err)}
	}
	uid := ev.Data.User.UserID
	rec, d, ok := p.pendingRecord(ctx, job)
	if !ok {
		return d
	}
	if rule := Evaluate(&ev, rec); rule != nil {
		if rule.Outcome == OutcomeEmailChanged {
			p.Log.Warn("login email differs from the provisioned email; not verifying. Check whether the address was changed on purpose",
				zap.String("user_id", uid), zap.String("event_email", event.MaskEmail(ev.Data.User.Email)), zap.String("provisioned_email", event.MaskEmail(rec.Email)))
		}
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	claimed, d, ok := p.claim(ctx, job)
	if !ok {
		return d
	}
	// The record may have been replaced (removed and registered again) between the read
	// and the claim: judge the login against the record actually held. Not closing
	// releases the lock, which is ours now.
	if rule := Evaluate(&ev, claimed); rule != nil {
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	// A record this event already held means an earlier attempt got as far as the
	// claim and maybe the PATCH before it died.
	return p.flip(ctx, job, claimed, rec.Status == store.StatusVerifying, nil)
}

// pendingRecord reads the job's user's record; false with the Decision to return when
// there is nothing to do (no record, not pending) or the user is busy with another job.
func (p *Processor) pendingRecord(ctx context.Context, job store.Job) (store.Record, Decision, bool) {
	rec, err := p.Records.Get(ctx, job.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return rec, Decision{Action: Ack, Outcome: OutcomeNotPending}, false
	}
	if err != nil {
		return rec, Decision{Action: Retry, Err: fmt.Errorf("read pending record: %w", err)}, false
	}
	if rec.Status != store.StatusPending && !(rec.Status == store.StatusVerifying && rec.Holder == job.Owner()) {
		if rec.Status == store.StatusVerifying {
			// Another login of the same user is being flipped; look again once it is done.
			return rec, Decision{Action: Retry, Defer: DeferUserBusy, Err: errUserBusy}, false
		}
		return rec, Decision{Action: Ack, Outcome: OutcomeNotPending}, false
	}
	return rec, Decision{}, true
}

// claim takes the verification lock for the job; false with the Decision to return
// when it cannot.
func (p *Processor) claim(ctx context.Context, job store.Job) (store.Record, Decision, bool) {
	claimed, ok, err := p.Records.Claim(ctx, job.UserID, job.Owner())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return claimed, Decision{Action: Ack, Outcome: OutcomeNotPending}, false
	case err != nil:
		return claimed, Decision{Action: Retry, Err: fmt.Errorf("claim pending record: %w", err)}, false
	case !ok:
		return claimed, Decision{Action: Retry, Defer: DeferUserBusy, Err: errUserBusy}, false
	}
	return claimed, Decision{}, true
}

// flip re-reads the user and sets email_verified. The read costs one call but closes the
// window between the login and now: an email changed or verified meanwhile is caught, and
// a retry after a PATCH whose answer was lost sees the flag already set and stops.
//
// The person can change their address at any moment, and Auth0 has no conditional
// update, so three guards stand between a change and a wrong flip (see "Flipping only
// the proven address" in store/doc.go): both calls take their budget before the read,
// so nothing waits between the check and the write; the PATCH answer is checked; and a
// flip that landed on another address is taken back at once, durably.
//
// evidence, for a sweep's job, checks on the fresh read what the sweep found: a reset
// after provisioning and a login after it (a login's event is that evidence itself).
func (p *Processor) flip(ctx context.Context, job store.Job, rec store.Record, resumed bool, evidence func(auth0client.User, store.Record) *Rule) Decision {
	d := p.tryFlip(ctx, job, rec, resumed, evidence)
	if resumed && d.Action != Ack {
		// This event held the claim before: an earlier attempt may have PATCHed an
		// address that changed, and this one could not look. If it is given up, a check
		// must follow.
		d.MayHaveFlipped = true
	}
	return d
}

// tryFlip is flip's work; see flip.
func (p *Processor) tryFlip(ctx context.Context, job store.Job, rec store.Record, resumed bool, evidence func(auth0client.User, store.Record) *Rule) Decision {
	uid := rec.UserID
	if err := p.Budget.WaitN(ctx, 2); err != nil {
		return budgetFailure(err)
	}
	u, err := p.Users.GetUser(ctx, uid)
	if err != nil {
		return p.apiFailure(ctx, uid, "read user", err)
	}
	switch {
	case u.EmailVerified && resumed && !provisionedAddress(u, rec):
		// An earlier attempt of this event, holding the same claim, may have PATCHed
		// after the address changed and died before it could check the answer.
		return p.takeBack(ctx, job, u, "the read resuming an interrupted flip")
	case u.EmailVerified && resumed:
		// An earlier attempt of this very event PATCHed and died before recording it.
		return Decision{Action: Ack, Outcome: OutcomeVerified, Close: true}
	}
	if rule := EvaluateUser(u, rec); rule != nil {
		if rule.FreshOutcome == OutcomeChangedSinceEvent {
			p.Log.Warn("user changed in Auth0 since the login; not verifying",
				zap.String("user_id", uid), zap.String("rule", rule.Name), zap.String("current_email", event.MaskEmail(u.Email)))
		}
		return Decision{Action: Ack, Outcome: rule.FreshOutcome, Close: true}
	}
	if evidence != nil {
		if rule := evidence(u, rec); rule != nil {
			// Not proven yet: the record waits for the next login, and the claim goes.
			return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
		}
	}
	after, err := p.Users.VerifyEmail(ctx, uid)
	if err != nil {
		d := p.apiFailure(ctx, uid, "set email_verified", err)
		// Auth0 answered no (4xx, a refused token or scope among them) or the call never
		// left: nothing was written. Anything else may have landed.
		d.MayHaveFlipped = d.Action != Ack && !errors.Is(err, auth0client.ErrPermanent) && !isRateLimited(err) &&
			!errors.Is(err, auth0client.ErrUnauthorized)
		return d
	}
	if !provisionedAddress(after, rec) {
		return p.takeBack(ctx, job, after, "the PATCH answer")
	}
	return Decision{Action: Ack, Outcome: OutcomeVerified, Close: true}
}

// takeBack handles email_verified true on an address nobody proved, seen in seenIn. The
// undo is written to Redis before Auth0 is called, so a crash from here on cannot lose
// it, and the call is made at once, outside the budget: it is rare, and every moment the
// flag stays set a token can be issued with it. When neither the record nor the call
// worked, the job is retried rather than acknowledged: its next attempt resumes the claim,
// reads the user and comes back here.
func (p *Processor) takeBack(ctx context.Context, job store.Job, u auth0client.User, seenIn string) Decision {
	uid := u.ID
	if uid == "" {
		uid = job.UserID
	}
	p.Log.Error("email_verified is true on an address nobody proved: the address changed during the flip; setting email_verified back to false now",
		zap.String("user_id", uid), zap.String("current_email", event.MaskEmail(u.Email)), zap.String("seen_in", seenIn), zap.String("outcome", OutcomeChangedDuringFlip))
	gen, recErr := p.Undos.ScheduleUndo(ctx, store.Undo{UserID: uid, JobID: job.ID, WebhookID: job.WebhookID}, undoLease)
	if recErr != nil {
		p.Log.Error("could not record the undo in Redis; calling Auth0 anyway", zap.String("user_id", uid), zap.Error(recErr))
	}
	result, err := p.undo(ctx, uid)
	switch {
	case err != nil && recErr != nil:
		return Decision{Action: Retry, MayHaveFlipped: true, Err: fmt.Errorf("take back the flip of %s: not recorded (%v) and not done: %w", uid, recErr, err)}
	case err == nil && recErr == nil:
		if _, derr := p.Undos.UndoDone(ctx, uid, gen, store.AuditFlipUndone, result); derr != nil {
			// The undo stays listed; the loop will call Auth0 again, which is harmless.
			p.Log.Warn("flip taken back, but Redis did not record it; it will be repeated", zap.String("user_id", uid), zap.Error(derr))
		}
		p.Log.Warn("flip taken back: email_verified is false again", zap.String("user_id", uid), zap.String("result", result))
	case err == nil:
		p.Log.Warn("flip taken back: email_verified is false again", zap.String("user_id", uid), zap.String("result", result))
	default:
		p.Log.Error("could not take the flip back yet; it stays in the undo list and is retried before any other job. Check the Management API (mailproof_flip_undos_total)",
			zap.String("user_id", uid), zap.Error(err))
		return Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoFailed}
	}
	return Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoDone}
}

// undo sets email_verified back to false and says what it found.
func (p *Processor) undo(ctx context.Context, uid string) (string, error) {
	u, err := p.Users.UnverifyEmail(ctx, uid)
	switch {
	case errors.Is(err, auth0client.ErrUserNotFound):
		return "user deleted in Auth0: nothing to take back", nil
	case err != nil:
		return "", err
	case u.EmailVerified:
		return "", fmt.Errorf("undo verify email of %s: the answer still shows email_verified true", uid)
	}
	return "email_verified set back to false", nil
}

// undoLease is how long a replica holds an undo it listed or took from the list before
// another may take it: longer than one Management API call (10 s by default).
const undoLease = 15 * time.Second

// Results of an attempt to take a flip back, as metric labels.
const (
	UndoDone   = "done"
	UndoFailed = "failed"
)

// UndoReport counts what RunDueUndos did.
type UndoReport struct{ Done, Failed int }

// RunDueUndos takes back the flips waiting in the undo list. The worker calls it before
// it takes each job, so a waiting undo goes first; each is leased while it runs, so
// replicas share the list. A failure leaves the undo listed for a later try with
// exponential backoff (1 s doubling to 5 min): an undo is never given up.
func (p *Processor) RunDueUndos(ctx context.Context) (UndoReport, error) {
	var rep UndoReport
	us, err := p.Undos.TakeDueUndos(ctx, undoLease, 10)
	for _, u := range us {
		outcome, result, uerr := p.runUndo(ctx, u)
		if uerr == nil {
			if _, err := p.Undos.UndoDone(ctx, u.UserID, u.Gen, outcome, result); err != nil {
				p.Log.Warn("flip taken back, but Redis did not record it; it will be repeated", zap.String("user_id", u.UserID), zap.Error(err))
			}
			p.Log.Warn("flip taken back from the undo list", zap.String("user_id", u.UserID), zap.String("result", result), zap.Int("attempt", u.Attempts))
			rep.Done++
			continue
		}
		rep.Failed++
		next := time.Now().Add(min(time.Second<<min(u.Attempts-1, 9), 5*time.Minute))
		if ferr := p.Undos.UndoFailed(ctx, u, next, uerr.Error()); ferr != nil {
			p.Log.Warn("could not record the failed undo in Redis; its lease expires and it is tried again", zap.String("user_id", u.UserID), zap.Error(ferr))
		}
		p.Log.Error("could not take a flip back yet: email_verified may still be true on an address nobody proved; retrying. Check the Management API credentials and status",
			zap.String("user_id", u.UserID), zap.Int("attempt", u.Attempts), zap.Time("next_try", next), zap.Error(uerr))
	}
	return rep, err
}

// runUndo carries out one listed undo and names its audit outcome. A Check undo reads
// first: it was left by a job that gave up after a PATCH whose answer never came.
func (p *Processor) runUndo(ctx context.Context, u store.Undo) (outcome, result string, err error) {
	if u.Check {
		rec, err := p.Records.Get(ctx, u.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", "", fmt.Errorf("read pending record: %w", err)
		}
		if err := p.Budget.Wait(ctx); err != nil {
			return "", "", fmt.Errorf("wait for the Management API budget: %w", err)
		}
		cur, err := p.Users.GetUser(ctx, u.UserID)
		switch {
		case errors.Is(err, auth0client.ErrUserNotFound):
			return store.AuditFlipChecked, "user deleted in Auth0: nothing to take back", nil
		case err != nil:
			return "", "", err
		case !cur.EmailVerified:
			return store.AuditFlipChecked, "checked: email_verified is false, nothing to take back", nil
		case rec.UserID != "" && provisionedAddress(cur, rec):
			return store.AuditFlipChecked, "checked: email_verified is true on the provisioned address", nil
		}
	}
	if err := p.Budget.Wait(ctx); err != nil {
		return "", "", fmt.Errorf("wait for the Management API budget: %w", err)
	}
	result, err = p.undo(ctx, u.UserID)
	return store.AuditFlipUndone, result, err
}

func isRateLimited(err error) bool {
	var rl *auth0client.RateLimitError
	return errors.As(err, &rl)
}

// apiFailure sorts a Management API error into what to do next.
func (p *Processor) apiFailure(ctx context.Context, uid, what string, err error) Decision {
	var rl *auth0client.RateLimitError
	switch {
	case errors.Is(err, auth0client.ErrUserNotFound):
		return Decision{Action: Ack, Outcome: OutcomeUserNotFound, Close: true}
	case errors.As(err, &rl):
		if perr := p.Budget.Pause(ctx, rl.Reset); perr != nil {
			p.Log.Warn("could not share the rate-limit pause with other replicas", zap.Error(perr))
		}
		return Decision{Action: Retry, Defer: DeferRateLimited, NotBefore: rl.Reset, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
	case errors.Is(err, auth0client.ErrMissingScope):
		// Retrying cannot help and would burn the job's attempts: the worker waits for the
		// grant (Worker, scopeHold).
		return Decision{Action: Retry, Defer: DeferMissingScope, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
	case errors.Is(err, auth0client.ErrPermanent):
		return Decision{Action: DeadLetter, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
	default:
		d := Decision{Action: Retry, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
		if p.LastAuth0Answer != nil && time.Since(p.LastAuth0Answer()) >= auth0SilentAfter {
			d.Defer = DeferAuth0Down
		}
		return d
	}
}

// errUserBusy is the wait for another event of the same user; ingest queues a second
// login while the first holds the lock, so this is routine, not a failure.
var errUserBusy = errors.New("another event for this user is in flight")

// budgetFailure sorts a failed wait for the shared budget: running out of time means the
// budget is saturated, which is no fault of the job; anything else (Redis down) is an
// ordinary retry.
func budgetFailure(err error) Decision {
	d := Decision{Action: Retry, Err: fmt.Errorf("wait for the Management API budget: %w", err)}
	if errors.Is(err, context.DeadlineExceeded) {
		d.Defer = DeferBudget
	}
	return d
}
