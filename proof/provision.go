package proof

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

// Deliveries: how a provisioned person gets the link that lets them set a password.
const (
	// DeliveryResetEmail has Auth0 send its standard reset-password email
	// (/dbconnections/change_password): the link goes to the mailbox, so following it
	// proves the mailbox.
	DeliveryResetEmail = "reset-email"
	// DeliveryTicket creates a password-change ticket and returns its URL for the
	// caller's own mail.
	DeliveryTicket = "ticket"
)

// ProvisionRequest is one user to provision.
type ProvisionRequest struct {
	Email      string
	Name       string
	Connection string        // the database connection; "" is Username-Password-Authentication
	Delivery   string        // DeliveryResetEmail (default) or DeliveryTicket
	ResultURL  string        // ticket only: where Auth0 sends the person after the reset
	TicketTTL  time.Duration // ticket only: 0 is Auth0's default lifetime
	// Adopt registers an existing user that mailproof did not create, if it is
	// unverified and on a database connection, instead of refusing it.
	Adopt bool
	// By says who asked, for the audit trail: AuditByCLI or AuditByAdminAPI.
	By string
}

// Results of Provision, as the CLI's results file and the admin API show them.
const (
	ProvisionCreated   = "created"   // the user was created, registered and delivered to
	ProvisionAdopted   = "adopted"   // an existing user was registered and delivered to
	ProvisionResumed   = "resumed"   // an earlier, interrupted run's user was finished
	ProvisionDone      = "unchanged" // everything was already done: nothing sent again
	ProvisionUncertain = "delivery_uncertain"
)

// ProvisionResult is what Provision did.
type ProvisionResult struct {
	Status    string // one of the Provision* results
	Record    store.Record
	TicketURL string // DeliveryTicket only, on the call that created it
}

// ProvisionUserExists is the code of a refusal: a user with the address exists and
// mailproof did not create it (the admin API's error code, the results file's status).
const ProvisionUserExists = "user_exists"

// ErrUserExists is a user with the address that mailproof did not create; see
// UserExistsError for its id.
var ErrUserExists = errors.New(ProvisionUserExists)

// UserExistsError names the user that made Provision refuse.
type UserExistsError struct{ UserID string }

func (e *UserExistsError) Error() string {
	return "a user with this email exists and was not created by mailproof: " + e.UserID + " (adopt it to register it)"
}

// Is makes errors.Is(err, ErrUserExists) hold.
func (e *UserExistsError) Is(target error) bool { return target == ErrUserExists }

// ProvisionUsers is the Management and Authentication API as provisioning needs it.
type ProvisionUsers interface {
	CreateUser(ctx context.Context, in auth0client.CreateUser) (auth0client.User, error)
	UsersByEmail(ctx context.Context, email string) ([]auth0client.User, error)
	GetUser(ctx context.Context, id string) (auth0client.User, error)
	MarkProvisioned(ctx context.Context, id string) error
	SendResetEmail(ctx context.Context, email, connection string) error
	PasswordChangeTicket(ctx context.Context, userID, resultURL string, ttl time.Duration) (string, error)
}

// ProvisionStore is the part of the store provisioning writes.
type ProvisionStore interface {
	Get(ctx context.Context, userID string) (store.Record, error)
	FindByEmail(ctx context.Context, email string) (store.Record, error)
	PutPending(ctx context.Context, rec store.Record) error
	CreatePending(ctx context.Context, rec store.Record) (bool, error)
	StartDelivery(ctx context.Context, userID, delivery string) (bool, error)
	FinishDelivery(ctx context.Context, userID, delivery, by string) (bool, error)
	AbortDelivery(ctx context.Context, userID string) error
	ReserveResetEmail(ctx context.Context, email string) (time.Duration, error)
	ReleaseResetEmail(ctx context.Context, email string) error
	Note(ctx context.Context, userID, outcome, by, detail string) error
}

// LowBudget is a shared rate budget taken at low priority: provisioning uses what the
// worker's flips leave.
type LowBudget interface {
	WaitLow(ctx context.Context) error
	Pause(ctx context.Context, until time.Time) error
}

// DefaultConnection is the database connection Auth0 creates with a tenant, and the one
// provisioning uses when none is named.
const DefaultConnection = "Username-Password-Authentication"

// Provisioner creates users with email_verified false and sends them the link that lets
// them set a password, in the order the policy needs: the pending record, with its
// provisioning time, is written before any email or ticket exists, so the reset that
// follows is after it. Every step can be repeated: a run interrupted between any two
// steps is finished by running the same request again, which recognises the user by its
// address (the store's email index, then Auth0's users-by-email and the app_metadata
// marker), creates nobody twice and sends nobody a second email.
type Provisioner struct {
	Users ProvisionUsers
	Store ProvisionStore
	// Budget is the Management API budget (create, look-up, ticket), taken at low
	// priority; AuthBudget is the Authentication API's (reset emails).
	Budget     LowBudget
	AuthBudget LowBudget
	Log        *zap.Logger

	// refusals remembers Auth0's recent refusals for want of a scope (provision_scope.go).
	refusals scopeRefusals
}

// ErrInvalidRequest wraps a request Provision refuses before calling anyone.
var ErrInvalidRequest = errors.New("invalid provisioning request")

// ErrTooSoon refuses a reset email within a minute of the last one to the address.
var ErrTooSoon = errors.New("too soon")

// ErrNotPending refuses a resend to a user with no waiting record.
var ErrNotPending = errors.New("the user has no pending record")

// Provision creates (or finds) the user of req, registers it as pending and delivers
// the link. See Provisioner for why it is safe to call again.
func (p *Provisioner) Provision(ctx context.Context, req ProvisionRequest) (ProvisionResult, error) {
	req, err := checkRequest(req)
	if err != nil {
		return ProvisionResult{}, err
	}
	who := event.MaskEmail(req.Email)
	rec, err := p.Store.FindByEmail(ctx, req.Email)
	switch {
	case err == nil && rec.Connection == req.Connection:
		return p.settled(ctx, rec, req)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return ProvisionResult{}, fmt.Errorf("provision %s: %w", who, err)
	}
	// A user created without the scope its link needs would wait for a resend.
	if err := p.refused(callCreateUser, req.Delivery == DeliveryTicket); err != nil {
		return ProvisionResult{}, fmt.Errorf("provision %s: %w", who, err)
	}
	if err := p.Budget.WaitLow(ctx); err != nil {
		return ProvisionResult{}, fmt.Errorf("provision %s: wait for the Management API budget: %w", who, err)
	}
	u, err := p.Users.CreateUser(ctx, auth0client.CreateUser{Email: req.Email, Name: req.Name, Connection: req.Connection})
	p.refusals.note(callCreateUser, err, time.Now())
	status := ProvisionCreated
	switch {
	case errors.Is(err, auth0client.ErrConflict):
		u, status, err = p.existing(ctx, req)
		if err != nil {
			return ProvisionResult{}, err
		}
		// A record in any status means an earlier or concurrent run registered the user
		// (it may have delivered, or the person may be verified since): never written over.
		rec, err := p.Store.Get(ctx, u.ID)
		switch {
		case err == nil:
			return p.settled(ctx, rec, req)
		case !errors.Is(err, store.ErrNotFound):
			return ProvisionResult{}, fmt.Errorf("provision %s: %w", who, err)
		}
		// A marked user without a record (gone with the retention, or never written):
		// registered again only if it still can prove anything.
		if rule := EvaluateRegistration(u); rule != nil {
			if rule.Outcome == OutcomeAlreadyVerified {
				return ProvisionResult{Status: ProvisionDone, Record: store.Record{UserID: u.ID, Email: u.Email, Connection: u.Connection, Status: store.StatusVerified}}, nil
			}
			return ProvisionResult{}, fmt.Errorf("provision %s: %s is %s (%s): %w", who, u.ID, rule.Explain, rule.Outcome, ErrInvalidRequest)
		}
	case err != nil:
		p.pauseOn(ctx, err)
		return ProvisionResult{}, fmt.Errorf("provision %s: %w", who, err)
	}
	// The record, and with it the provisioning time, before any email or ticket; only if
	// none exists, so a run racing this one cannot move it past an email already sent.
	created, err := p.Store.CreatePending(ctx, store.Record{UserID: u.ID, Email: u.Email, Connection: req.Connection})
	if err != nil {
		return ProvisionResult{}, fmt.Errorf("provision %s: register %s: %w", who, u.ID, err)
	}
	if !created {
		rec, err := p.Store.Get(ctx, u.ID)
		if err != nil {
			return ProvisionResult{}, fmt.Errorf("provision %s: %w", who, err)
		}
		return p.settled(ctx, rec, req)
	}
	note := map[string]string{ProvisionCreated: store.AuditProvisioned, ProvisionAdopted: store.AuditAdopted, ProvisionResumed: store.AuditProvisioned}[status]
	if err := p.Store.Note(ctx, u.ID, note, req.By, "connection "+req.Connection); err != nil {
		p.Log.Warn("could not write the provisioning to the audit trail", zap.String("user_id", u.ID), zap.Error(err))
	}
	rec, err = p.Store.Get(ctx, u.ID)
	if err != nil {
		return ProvisionResult{}, fmt.Errorf("provision %s: read back %s: %w", who, u.ID, err)
	}
	return p.finish(ctx, rec, req, status)
}

// existing handles a create that Auth0 refused because the address is taken: a user
// with mailproof's marker is an earlier run's (status resumed); one without is refused
// unless req.Adopt and the policy's registration rules allow it.
func (p *Provisioner) existing(ctx context.Context, req ProvisionRequest) (auth0client.User, string, error) {
	who := event.MaskEmail(req.Email)
	if err := p.Budget.WaitLow(ctx); err != nil {
		return auth0client.User{}, "", fmt.Errorf("provision %s: wait for the Management API budget: %w", who, err)
	}
	users, err := p.Users.UsersByEmail(ctx, req.Email)
	if err != nil {
		p.pauseOn(ctx, err)
		return auth0client.User{}, "", fmt.Errorf("provision %s: look up the existing user: %w", who, err)
	}
	i := slices.IndexFunc(users, func(u auth0client.User) bool { return u.Connection == req.Connection })
	if i < 0 {
		return auth0client.User{}, "", fmt.Errorf("provision %s: Auth0 says the user exists but lists none on %s: %w", who, req.Connection, auth0client.ErrConflict)
	}
	u := users[i]
	switch {
	case u.Provisioned:
		return u, ProvisionResumed, nil
	case !req.Adopt:
		return auth0client.User{}, "", &UserExistsError{UserID: u.ID}
	}
	if rule := EvaluateRegistration(u); rule != nil {
		return auth0client.User{}, "", fmt.Errorf("provision %s: cannot adopt %s: %s (%s): %w", who, u.ID, rule.Explain, rule.Outcome, ErrInvalidRequest)
	}
	if err := p.Budget.WaitLow(ctx); err != nil {
		return auth0client.User{}, "", fmt.Errorf("provision %s: wait for the Management API budget: %w", who, err)
	}
	if err := p.Users.MarkProvisioned(ctx, u.ID); err != nil {
		return auth0client.User{}, "", fmt.Errorf("provision %s: adopt %s: %w", who, u.ID, err)
	}
	return u, ProvisionAdopted, nil
}

// settled answers for a user that already has a record: a waiting one is finished (its
// link delivered if it never was), an ended one (verified, closed, expired) is left as
// it is.
func (p *Provisioner) settled(ctx context.Context, rec store.Record, req ProvisionRequest) (ProvisionResult, error) {
	if rec.Status == store.StatusPending || rec.Status == store.StatusVerifying {
		return p.finish(ctx, rec, req, ProvisionResumed)
	}
	return ProvisionResult{Status: ProvisionDone, Record: rec}, nil
}

// finish delivers the link to a registered user unless it has been delivered, or a
// delivery was cut off mid-send (then nobody knows whether the email left, and sending
// again could mail the person twice: the result says so, and Resend decides).
func (p *Provisioner) finish(ctx context.Context, rec store.Record, req ProvisionRequest, status string) (ProvisionResult, error) {
	switch {
	case rec.Deliveries > 0:
		if status == ProvisionResumed {
			status = ProvisionDone
		}
		return ProvisionResult{Status: status, Record: rec}, nil
	case !rec.DeliveringAt.IsZero():
		return ProvisionResult{Status: ProvisionUncertain, Record: rec}, nil
	}
	return p.deliver(ctx, rec, req.Delivery, req.ResultURL, req.TicketTTL, req.By, status)
}

// Resend delivers the link again to a user whose record is waiting for proof.
func (p *Provisioner) Resend(ctx context.Context, userID string, req ProvisionRequest) (ProvisionResult, error) {
	req, err := checkDelivery(req)
	if err != nil {
		return ProvisionResult{}, err
	}
	rec, err := p.Store.Get(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.Status != store.StatusPending {
		return ProvisionResult{Record: rec}, fmt.Errorf("resend to %s: %w", userID, ErrNotPending)
	}
	if err != nil {
		return ProvisionResult{}, fmt.Errorf("resend to %s: %w", userID, err)
	}
	return p.deliver(ctx, rec, req.Delivery, req.ResultURL, req.TicketTTL, req.By, "resent")
}

// deliver sends the reset email or creates the ticket, marking the record before and
// counting the delivery after, and answers with status.
func (p *Provisioner) deliver(ctx context.Context, rec store.Record, delivery, resultURL string, ttl time.Duration, by, status string) (ProvisionResult, error) {
	who := event.MaskEmail(rec.Email)
	if err := p.refused("", delivery == DeliveryTicket); err != nil {
		return ProvisionResult{Record: rec}, fmt.Errorf("deliver to %s: %w", rec.UserID, err)
	}
	if delivery == DeliveryResetEmail {
		// Auth0 sends one reset email a minute to an address; asking sooner only earns a
		// 429 and spends the budget, so the wait is said before anything is marked.
		wait, err := p.Store.ReserveResetEmail(ctx, rec.Email)
		if err != nil {
			return ProvisionResult{Record: rec}, fmt.Errorf("deliver to %s: %w", rec.UserID, err)
		}
		if wait > 0 {
			return ProvisionResult{Record: rec}, fmt.Errorf("deliver to %s: %w: Auth0 sends one reset email a minute to an address; try again in %s", rec.UserID, ErrTooSoon, wait.Round(time.Second))
		}
	}
	// release gives the minute back when nothing was sent.
	release := func() {
		if delivery == DeliveryResetEmail {
			if err := p.Store.ReleaseResetEmail(context.WithoutCancel(ctx), rec.Email); err != nil {
				p.Log.Warn("could not release the address's reset-email minute", zap.String("user_id", rec.UserID), zap.Error(err))
			}
		}
	}
	ok, err := p.Store.StartDelivery(ctx, rec.UserID, delivery)
	if err != nil || !ok {
		release()
		return ProvisionResult{Record: rec}, fmt.Errorf("deliver to %s: %w", rec.UserID, cmp.Or(err, ErrNotPending))
	}
	res := ProvisionResult{Status: status}
	if delivery == DeliveryTicket {
		if err = p.Budget.WaitLow(ctx); err == nil {
			res.TicketURL, err = p.Users.PasswordChangeTicket(ctx, rec.UserID, resultURL, ttl)
			p.refusals.note(callTicket, err, time.Now())
		}
	} else {
		if err = p.AuthBudget.WaitLow(ctx); err == nil {
			err = p.Users.SendResetEmail(ctx, rec.Email, rec.Connection)
		}
	}
	if err != nil {
		p.pauseOn(ctx, err)
		if delivery == DeliveryResetEmail && errors.Is(err, auth0client.ErrNoAnswer) {
			// The email may have left: the mark stays, and a repeated run reports the
			// user as delivery_uncertain instead of mailing the person twice.
			return ProvisionResult{Status: ProvisionUncertain, Record: rec}, fmt.Errorf("deliver to %s (%s): no answer from Auth0, so the email may or may not have gone out; check the user's mailbox or resend: %w", rec.UserID, who, err)
		}
		release()
		if aerr := p.Store.AbortDelivery(context.WithoutCancel(ctx), rec.UserID); aerr != nil {
			p.Log.Warn("could not clear the delivery mark; the next run will report the user as delivery_uncertain", zap.String("user_id", rec.UserID), zap.Error(aerr))
		}
		return ProvisionResult{Record: rec}, fmt.Errorf("deliver to %s (%s): the user is registered but has no link yet; run the same command again or resend: %w", rec.UserID, who, err)
	}
	if _, err := p.Store.FinishDelivery(context.WithoutCancel(ctx), rec.UserID, delivery, by); err != nil {
		return ProvisionResult{Record: rec, TicketURL: res.TicketURL}, fmt.Errorf("deliver to %s: sent, but not recorded: %w", rec.UserID, err)
	}
	if res.Record, err = p.Store.Get(ctx, rec.UserID); err != nil {
		res.Record = rec
	}
	p.Log.Info("link delivered", zap.String("user_id", rec.UserID), zap.String("delivery", delivery), zap.String("status", status))
	return res, nil
}

// refused returns the recent scope refusal of call ("" for none) or, when ticket, of the
// password-change ticket: nil when they may be sent.
func (p *Provisioner) refused(call string, ticket bool) error {
	now := time.Now()
	if call != "" {
		if err := p.refusals.check(call, now); err != nil {
			return err
		}
	}
	if ticket {
		return p.refusals.check(callTicket, now)
	}
	return nil
}

// pauseOn shares a 429's reset with every replica.
func (p *Provisioner) pauseOn(ctx context.Context, err error) {
	var rl *auth0client.RateLimitError
	if errors.As(err, &rl) {
		_ = p.Budget.Pause(ctx, rl.Reset)
	}
}

// checkRequest fills defaults and refuses what cannot be provisioned.
func checkRequest(req ProvisionRequest) (ProvisionRequest, error) {
	req.Email = strings.TrimSpace(req.Email)
	req.Connection = cmp.Or(strings.TrimSpace(req.Connection), DefaultConnection)
	if a, err := mail.ParseAddress(req.Email); err != nil || a.Address != req.Email || a.Name != "" {
		return req, fmt.Errorf("%w: %q is not an email address", ErrInvalidRequest, event.MaskEmail(req.Email))
	}
	return checkDelivery(req)
}

// checkDelivery fills and checks how the link is delivered.
func checkDelivery(req ProvisionRequest) (ProvisionRequest, error) {
	req.Delivery = cmp.Or(req.Delivery, DeliveryResetEmail)
	switch {
	case req.Delivery != DeliveryResetEmail && req.Delivery != DeliveryTicket:
		return req, fmt.Errorf("%w: delivery %q: want %s or %s", ErrInvalidRequest, req.Delivery, DeliveryResetEmail, DeliveryTicket)
	case req.TicketTTL < 0:
		return req, fmt.Errorf("%w: ticket lifetime %s is negative", ErrInvalidRequest, req.TicketTTL)
	case req.ResultURL != "" && req.Delivery != DeliveryTicket:
		return req, fmt.Errorf("%w: a result URL only applies to tickets", ErrInvalidRequest)
	}
	return req, nil
}

// Register makes an existing Auth0 user pending, as POST /v1/pending does: it reads the
// user, applies the policy's registration rules, sets mailproof's app_metadata marker if
// the user lacks it, and writes the record (its provisioning time is now: only a reset
// after it counts). A user already waiting keeps its record; created says whether a
// record was written.
//
// The marker comes first because the reconcile sweep finds users only by it: for a
// record of a user the sweep cannot find, a login the webhook missed stays unseen. If the
// marker cannot be set, no record is written and the error says so; running Register
// again is safe, and its read sees a marker that did land and skips the call.
func (p *Provisioner) Register(ctx context.Context, userID, by string) (rec store.Record, created bool, err error) {
	if err := event.CheckUserID(userID); err != nil {
		return store.Record{}, false, fmt.Errorf("%w: user id %s", ErrInvalidRequest, err)
	}
	if err := p.Budget.WaitLow(ctx); err != nil {
		return store.Record{}, false, fmt.Errorf("register %s: wait for the Management API budget: %w", userID, err)
	}
	u, err := p.Users.GetUser(ctx, userID)
	if err != nil {
		p.pauseOn(ctx, err)
		return store.Record{}, false, fmt.Errorf("register %s: %w", userID, err)
	}
	if rule := EvaluateRegistration(u); rule != nil {
		return store.Record{}, false, fmt.Errorf("register %s: %s (%s): %w", userID, rule.Explain, rule.Outcome, ErrInvalidRequest)
	}
	uid := cmp.Or(u.ID, userID) // Auth0's spelling is the one its events carry
	// Before the store is even read, so running it again also marks a user whose record
	// was written before registration set the marker.
	if !u.Provisioned {
		if err := p.Budget.WaitLow(ctx); err != nil {
			return store.Record{}, false, fmt.Errorf("register %s: wait for the Management API budget: %w", uid, err)
		}
		if err := p.Users.MarkProvisioned(ctx, uid); err != nil {
			p.pauseOn(ctx, err)
			return store.Record{}, false, fmt.Errorf("register %s: set app_metadata.%s so the reconcile sweep can find the user; nothing registered: %w", uid, auth0client.ProvisionMarker, err)
		}
	}
	if rec, err := p.Store.Get(ctx, uid); err == nil && (rec.Status == store.StatusPending || rec.Status == store.StatusVerifying) {
		return rec, false, nil
	}
	if err := p.Store.PutPending(ctx, store.Record{UserID: uid, Email: u.Email, Connection: u.Connection}); err != nil {
		return store.Record{}, false, fmt.Errorf("register %s: %w", uid, err)
	}
	if err := p.Store.Note(ctx, uid, store.AuditRegistered, by, "connection "+u.Connection); err != nil {
		p.Log.Warn("could not write the registration to the audit trail", zap.String("user_id", uid), zap.Error(err))
	}
	rec, err = p.Store.Get(ctx, uid)
	return rec, true, err
}
