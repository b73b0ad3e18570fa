package proof

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mailproof/mailproof/auth0client"
)

// scopeRetry is how long provisioning answers a call that Auth0 refused for want of a
// Management API scope with that refusal, without asking Auth0 again.
const scopeRetry = 30 * time.Second

// The provisioning calls whose refusals are remembered: the two only provisioning needs
// (ProvisionScopes). The others (the read by address, the marker) need the scopes the
// flip needs, which /readyz already reports.
const (
	callCreateUser = "create user"
	callTicket     = "password-change ticket"
)

// scopeRefusals keeps a bulk run from sending every row's call to be refused: once
// Auth0 refused a call for want of a scope, the rows that need the same call fail at once
// with the same error, naming the scope and where to grant it, until scopeRetry has
// passed; then one call asks again. A run of a million rows without create:users spends
// one call every 30 s, not a million, and creates nobody it cannot deliver to.
type scopeRefusals struct {
	mu   sync.Mutex
	last map[string]scopeRefusal // by call
}

type scopeRefusal struct {
	at  time.Time
	err *auth0client.ScopeError
}

// check returns call's refusal while it is recent, saying that nothing was sent.
func (s *scopeRefusals) check(call string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[call]
	if !ok || now.Sub(r.at) >= scopeRetry {
		return nil
	}
	return fmt.Errorf("%w (not sent: Auth0 refused the %s %s ago; mailproof asks again %s after that)",
		r.err, call, now.Sub(r.at).Round(time.Second), scopeRetry)
}

// note remembers err as call's refusal when it is one for want of a scope, and forgets
// call's refusal when Auth0 answered it past the scope check (a success, a 4xx about the
// request itself such as the 409 of an existing user).
func (s *scopeRefusals) note(call string, err error, now time.Time) {
	var se *auth0client.ScopeError
	scoped := errors.As(err, &se)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case scoped:
		if s.last == nil {
			s.last = map[string]scopeRefusal{}
		}
		s.last[call] = scopeRefusal{at: now, err: se}
	case err == nil || errors.Is(err, auth0client.ErrPermanent): // answered past the scope check
		delete(s.last, call)
	}
}
