package handlers

import (
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

// Outcome codes, exactly as DESIGN.md names them. They appear in webhook answers, metric
// labels and the audit trail, so they never change.
const (
	OutcomeVerified          = "verified"
	OutcomeNotPending        = "not_pending"
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
)

// Rule is one condition a login must meet to prove mailbox access. Terminal rules close
// the pending record when they fail, because no later login can make them hold; the
// others leave it pending, because the person's next password login may well pass.
type Rule struct {
	Name     string
	Outcome  string
	Terminal bool
	Holds    func(ev *event.PostLogin, rec store.Record) bool
}

// Policy is the ordered table of rules the worker applies to a queued login against the
// pending record mailproof wrote when it provisioned the user. Signature, freshness,
// replay and "is pending" are checked at ingestion; the fresh Management API read comes
// after the table, in the worker.
var Policy = []Rule{
	{
		Name: "event says the email is unverified", Outcome: OutcomeAlreadyVerified, Terminal: true,
		Holds: func(ev *event.PostLogin, _ store.Record) bool { return !ev.Data.User.EmailVerified },
	},
	{
		Name: "event email equals the provisioned email", Outcome: OutcomeEmailChanged, Terminal: true,
		Holds: func(ev *event.PostLogin, rec store.Record) bool {
			return event.SameEmail(ev.Data.User.Email, rec.Email)
		},
	},
	{
		Name: "login on the provisioned database connection", Outcome: OutcomeWrongConnection,
		Holds: func(ev *event.PostLogin, rec store.Record) bool {
			c := ev.Data.Connection
			return c.Strategy == "auth0" && (rec.Connection == "" || c.Name == rec.Connection)
		},
	},
	{
		Name: "login used the password", Outcome: OutcomeWrongMethod,
		Holds: func(ev *event.PostLogin, _ store.Record) bool {
			for _, m := range ev.Data.Authentication.Methods {
				if m.Name == "pwd" {
					return true
				}
			}
			return false
		},
	},
	{
		Name: "password reset after provisioning", Outcome: OutcomeNoPasswordReset,
		Holds: func(ev *event.PostLogin, rec store.Record) bool {
			r := ev.Data.User.LastPasswordReset
			return r != nil && r.After(rec.ProvisionedAt)
		},
	},
}

// Evaluate runs the policy in order and returns the first failing rule, or nil when the
// login proves mailbox access.
func Evaluate(ev *event.PostLogin, rec store.Record) *Rule {
	for i := range Policy {
		if !Policy[i].Holds(ev, rec) {
			return &Policy[i]
		}
	}
	return nil
}
