package handlers

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
}

// Budget is the Management API rate budget shared by every replica.
type Budget interface {
	Wait(ctx context.Context) error
	Pause(ctx context.Context, until time.Time) error
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

// The reasons a job may be deferred; they double as metric labels.
const (
	// DeferRateLimited: Auth0 answered 429; NotBefore is its rate-limit reset.
	DeferRateLimited Deferral = "rate_limited"
	// DeferUserBusy: another event for the same user holds the verification lock; this
	// one looks again shortly, once that one is done.
	DeferUserBusy Deferral = "user_busy"
	// DeferBudget: the shared Management API budget had no slot before the lease ran out.
	DeferBudget Deferral = "budget_wait"
)

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
}

// Processor turns a queued login into a Decision: the policy table, then a fresh
// Management API read, then the flip. It never acknowledges anything itself, so a crash
// anywhere in here leaves the job to be reclaimed.
type Processor struct {
	Records Records
	Users   Users
	Budget  Budget
	Log     *zap.Logger
}

// Process applies the policy to one job. Decoding failures are dead letters: the body
// was verified at ingest, so a job that no longer decodes is a bug to look at, not data
// to drop.
func (p *Processor) Process(ctx context.Context, job store.Job) Decision {
	ev, err := DecodePostLogin(job.Payload)
	if err != nil {
		return Decision{Action: DeadLetter, Err: fmt.Errorf("decode queued event: %w", err)}
	}
	uid := ev.Data.User.UserID
	rec, err := p.Records.Get(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return Decision{Action: Ack, Outcome: OutcomeNotPending}
	}
	if err != nil {
		return Decision{Action: Retry, Err: fmt.Errorf("read pending record: %w", err)}
	}
	if rec.Status != store.StatusPending && !(rec.Status == store.StatusVerifying && rec.Holder == job.Owner()) {
		if rec.Status == store.StatusVerifying {
			// Another login of the same user is being flipped; look again once it is done.
			return Decision{Action: Retry, Defer: DeferUserBusy, Err: errUserBusy}
		}
		return Decision{Action: Ack, Outcome: OutcomeNotPending}
	}
	if rule := Evaluate(&ev, rec); rule != nil {
		if rule.Outcome == OutcomeEmailChanged {
			p.Log.Warn("login email differs from the provisioned email; not verifying. Check whether the address was changed on purpose",
				zap.String("user_id", uid), zap.String("event_email", event.MaskEmail(ev.Data.User.Email)), zap.String("provisioned_email", event.MaskEmail(rec.Email)))
		}
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	claimed, ok, err := p.Records.Claim(ctx, uid, job.Owner())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Decision{Action: Ack, Outcome: OutcomeNotPending}
	case err != nil:
		return Decision{Action: Retry, Err: fmt.Errorf("claim pending record: %w", err)}
	case !ok:
		return Decision{Action: Retry, Defer: DeferUserBusy, Err: errUserBusy}
	}
	// The record may have been replaced (removed and registered again) between the read
	// and the claim: judge the login against the record actually held. Not closing
	// releases the lock, which is ours now.
	if rule := Evaluate(&ev, claimed); rule != nil {
		return Decision{Action: Ack, Outcome: rule.Outcome, Close: rule.Terminal}
	}
	// A record this event already held means an earlier attempt got as far as the
	// claim and maybe the PATCH before it died.
	return p.flip(ctx, uid, claimed, rec.Status == store.StatusVerifying)
}

// flip re-reads the user and sets email_verified. The read costs one call but closes the
// window between the login and now: an email changed or verified meanwhile is caught, and
// a retry after a PATCH whose answer was lost sees the flag already set and stops.
func (p *Processor) flip(ctx context.Context, uid string, rec store.Record, resumed bool) Decision {
	if err := p.Budget.Wait(ctx); err != nil {
		return budgetFailure(err)
	}
	u, err := p.Users.GetUser(ctx, uid)
	if err != nil {
		return p.apiFailure(ctx, uid, "read user", err)
	}
	switch {
	case u.EmailVerified && resumed:
		// An earlier attempt of this very event PATCHed and died before recording it.
		return Decision{Action: Ack, Outcome: OutcomeVerified, Close: true}
	case u.EmailVerified:
		return Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true}
	case !event.SameEmail(u.Email, rec.Email) || (rec.Connection != "" && u.Connection != "" && u.Connection != rec.Connection):
		p.Log.Warn("user changed in Auth0 since the login; not verifying",
			zap.String("user_id", uid), zap.String("current_email", event.MaskEmail(u.Email)))
		return Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true}
	}
	if err := p.Budget.Wait(ctx); err != nil {
		return budgetFailure(err)
	}
	if _, err := p.Users.VerifyEmail(ctx, uid); err != nil {
		return p.apiFailure(ctx, uid, "set email_verified", err)
	}
	return Decision{Action: Ack, Outcome: OutcomeVerified, Close: true}
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
	case errors.Is(err, auth0client.ErrPermanent):
		return Decision{Action: DeadLetter, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
	default:
		return Decision{Action: Retry, Err: fmt.Errorf("%s %s: %w", what, uid, err)}
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
