package proof

import (
	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

// Outcome codes, exactly as DESIGN.md names them. They appear in webhook answers, metric
// labels and the audit trail, so they never change.
const (
	OutcomeVerified          = store.OutcomeVerified
	OutcomeNotPending        = store.IngestNotPending
	OutcomeAlreadyVerified   = "already_verified"
	OutcomeEmailChanged      = "email_changed"
	OutcomeWrongConnection   = "wrong_connection"
	OutcomeWrongMethod       = "wrong_method"
	OutcomeNoPasswordReset   = "no_password_reset"
	OutcomeChangedSinceEvent = "changed_since_event"
	// OutcomeChangedDuringFlip: the PATCH landed on an address other than the provisioned
	// one (changed after the fresh read) and was taken back at once.
	OutcomeChangedDuringFlip = "changed_during_flip"
	OutcomeUserNotFound      = "user_not_found"
	// OutcomeNoLoginSinceReset: the sweep found a password reset after provisioning but
	// no login after it; the record keeps waiting.
	OutcomeNoLoginSinceReset = "no_login_since_reset"
)

// OutcomeNoEmail refuses a registration: the user has no address to prove.
const OutcomeNoEmail = "no_email"

// Rule is one condition that must hold for a login to prove mailbox access. It is
// checked wherever it can be: on the queued event (Event), on Auth0's user as a fresh
// Management API read returns it just before the flip (User, failing with FreshOutcome),
// when a user is registered as pending (User, if AtRegistration), and on the user as
// the reconcile sweep found it in a search or an export (Sweep, failing with Outcome;
// for a sweep's job, the Sweep rules without a FreshOutcome are checked again on the
// fresh read). Terminal rules
// close the pending record when they fail, because no later login can make them hold;
// the others leave it pending, because the person's next password login may well pass.
type Rule struct {
	Name    string
	Outcome string // on the event and at registration
	// FreshOutcome is the outcome when the fresh read breaks the rule: the user changed
	// in Auth0 between the login and the flip.
	FreshOutcome   string
	Terminal       bool
	AtRegistration bool
	// Explain says why a registration was refused, for the admin API's answer.
	Explain string
	Event   func(ev *event.PostLogin, rec store.Record) bool
	User    func(u auth0client.User, rec store.Record) bool
	// Sweep judges Management API data, where there is no event: nil where the data
	// cannot show what the rule needs (the authentication method).
	Sweep func(u auth0client.User, rec store.Record) bool
}

// The checks the event, the fresh read and the sweep share.
func unverified(u auth0client.User, _ store.Record) bool { return !u.EmailVerified }
func provisionedEmail(u auth0client.User, rec store.Record) bool {
	return event.SameEmail(u.Email, rec.Email)
}
func provisionedConnection(u auth0client.User, rec store.Record) bool {
	return u.DatabaseConnection && (rec.Connection == "" || u.Connection == rec.Connection)
}

// rules is the policy: every rule, in the order it is checked, in the three places it
// applies. Signature, freshness, replay and "is pending" are checked at ingestion.
var rules = [...]Rule{
	{
		Name: "the email is unverified", Outcome: OutcomeAlreadyVerified, FreshOutcome: OutcomeAlreadyVerified,
		Terminal: true, AtRegistration: true, Explain: "the user's email is already verified",
		Event: func(ev *event.PostLogin, _ store.Record) bool { return !ev.Data.User.EmailVerified },
		User:  unverified, Sweep: unverified,
	},
	{
		Name: "the user has an email address", Outcome: OutcomeNoEmail,
		AtRegistration: true, Explain: "the user has no email address to verify",
		// The event decoder already refuses an event without one.
		User: func(u auth0client.User, _ store.Record) bool { return event.NormalizeEmail(u.Email) != "" },
	},
	{
		Name: "the email is the provisioned email", Outcome: OutcomeEmailChanged, FreshOutcome: OutcomeChangedSinceEvent,
		Terminal: true,
		Event: func(ev *event.PostLogin, rec store.Record) bool {
			return event.SameEmail(ev.Data.User.Email, rec.Email)
		},
		User: provisionedEmail, Sweep: provisionedEmail,
	},
	{
		Name: "the provisioned database connection", Outcome: OutcomeWrongConnection, FreshOutcome: OutcomeChangedSinceEvent,
		AtRegistration: true, Explain: "the user is not on a database connection; only password logins can prove the mailbox",
		Event: func(ev *event.PostLogin, rec store.Record) bool {
			c := ev.Data.Connection
			return c.Strategy == "auth0" && (rec.Connection == "" || c.Name == rec.Connection)
		},
		User: provisionedConnection, Sweep: provisionedConnection,
	},
	{
		// The sweep cannot see this: a profile has no authentication method. Its
		// evidence is the two rules below instead; see "What the sweep cannot see" in
		// the package documentation for why they hold for provisioned users.
		Name: "the login used the password", Outcome: OutcomeWrongMethod,
		Event: func(ev *event.PostLogin, _ store.Record) bool {
			for _, m := range ev.Data.Authentication.Methods {
				if m.Name == "pwd" {
					return true
				}
			}
			return false
		},
	},
	{
		Name: "a password reset after provisioning", Outcome: OutcomeNoPasswordReset,
		Event: func(ev *event.PostLogin, rec store.Record) bool {
			r := ev.Data.User.LastPasswordReset
			return r != nil && r.After(rec.ProvisionedAt)
		},
		Sweep: func(u auth0client.User, rec store.Record) bool {
			return !u.LastPasswordReset.IsZero() && u.LastPasswordReset.After(rec.ProvisionedAt)
		},
	},
	{
		// A post-login event is itself the login after the reset it carries; the sweep
		// has to see one in last_login.
		Name: "a login after that reset", Outcome: OutcomeNoLoginSinceReset,
		Sweep: func(u auth0client.User, _ store.Record) bool {
			return !u.LastPasswordReset.IsZero() && u.LastLogin.After(u.LastPasswordReset)
		},
	},
}

// Rules returns a copy of the policy table, in order.
func Rules() []Rule { return append([]Rule(nil), rules[:]...) }

// Evaluate checks a queued login against the pending record and returns the first rule
// it breaks, or nil when the login proves mailbox access.
func Evaluate(ev *event.PostLogin, rec store.Record) *Rule {
	for i := range rules {
		if r := &rules[i]; r.Event != nil && !r.Event(ev, rec) {
			return r
		}
	}
	return nil
}

// EvaluateUser checks Auth0's user, as a fresh read returns it just before the flip,
// against the pending record, and returns the first rule it breaks, or nil.
func EvaluateUser(u auth0client.User, rec store.Record) *Rule {
	for i := range rules {
		if r := &rules[i]; r.User != nil && r.FreshOutcome != "" && !r.User(u, rec) {
			return r
		}
	}
	return nil
}

// EvaluateSweep checks a user as the reconcile sweep found it (a search result or an
// export line, which may lag behind Auth0) against the pending record, and returns the
// first rule it breaks, or nil when the data shows a login proving mailbox access.
func EvaluateSweep(u auth0client.User, rec store.Record) *Rule {
	for i := range rules {
		if r := &rules[i]; r.Sweep != nil && !r.Sweep(u, rec) {
			return r
		}
	}
	return nil
}

// sweepEvidence checks, on the fresh read of a sweep's job, the rules that only the
// sweep needs (the reset and the login after it): EvaluateUser has checked the rest.
func sweepEvidence(u auth0client.User, rec store.Record) *Rule {
	for i := range rules {
		if r := &rules[i]; r.Sweep != nil && r.FreshOutcome == "" && !r.Sweep(u, rec) {
			return r
		}
	}
	return nil
}

// EvaluateRegistration checks a user about to be registered as pending and returns the
// first rule that makes registering it pointless, or nil. The record it would get is
// built from the user itself, so only what the user alone decides is checked.
func EvaluateRegistration(u auth0client.User) *Rule {
	rec := store.Record{Email: u.Email, Connection: u.Connection}
	for i := range rules {
		if r := &rules[i]; r.AtRegistration && !r.User(u, rec) {
			return r
		}
	}
	return nil
}

// provisionedAddress reports whether Auth0's user still holds the address and connection
// mailproof provisioned, whatever its email_verified says: for reading the answer of
// our own PATCH, and the user a resumed attempt finds verified.
func provisionedAddress(u auth0client.User, rec store.Record) bool {
	u.EmailVerified = false
	return EvaluateUser(u, rec) == nil
}
