package proof

import (
	"context"
	"errors"
	"time"

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

// ErrUserExists is a user with the address that mailproof did not create; see
// UserExistsError for its id.
var ErrUserExists = errors.New("user_exists")

// UserExistsError names the user that made Provision refuse.
type UserExistsError struct{ UserID string }

func (e *UserExistsError) Error() string {
	return "a user with this email exists and was not created by mailproof: " + e.UserID + " (adopt it to register it)"
}

// Is makes errors.Is(err, ErrUserExists) hold.
func (e *UserExistsError) Is(target error) bool { return target == ErrUserExists }

// provisioner is the contract the CLI and the admin API program against.
type provisioner interface {
	Provision(ctx context.Context, req ProvisionRequest) (ProvisionResult, error)
}
