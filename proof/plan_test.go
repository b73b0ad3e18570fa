package proof

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// TestFlipsAndProvisioningUnderPlans runs provisioning and flips end to end against a
// tenant with a real plan's limits and the budget (MAILPROOF_AUTH0_RATE) at the plan's
// sustained rate less a margin: every flip lands and Auth0 never answers 429. Under Free
// (2 calls a second) it takes a few seconds.
//
// The margin is needed: at exactly 2 on Free, most runs meet one 429. The budget counts a
// call when its slot is granted, the bucket when the call arrives, and Free's bucket of 2
// leaves no room for a call that arrives late relative to the next one: the first flip's
// calls land a token fetch after their slot, the next pair on time, less than a second
// after them.
func TestFlipsAndProvisioningUnderPlans(t *testing.T) {
	t.Parallel()
	const provisioned, flips, margin = 3, 3, 0.95
	for _, plan := range []string{auth0test.PlanFree, auth0test.PlanEnterprise} {
		t.Run(plan, func(t *testing.T) {
			t.Parallel()
			rate, err := auth0test.PlanRate(plan)
			if err != nil {
				t.Fatal(err)
			}
			rate *= margin
			h := newHarness(t, func(c *Config) { c.Rate = rate }, auth0test.Config{Plan: plan})
			p := h.provisioner()
			p.Budget = store.NewLimiter(h.rdb, rate)
			p.AuthBudget = store.NewAuthLimiter(h.rdb, 5, 10) // serve's default: Free's 300 a minute
			h.start(h.worker())

			// Flips of users provisioned before the test, queued at once.
			users := h.loggedIn("flip", flips)
			// Provisioning by mailproof, each person following the reset email and
			// logging in.
			for i := range provisioned {
				email := h.noteEmail(fmt.Sprintf("new%d@example.com", i))
				res, err := p.Provision(t.Context(), ProvisionRequest{Email: email, By: store.AuditByCLI})
				if err != nil || res.Status != ProvisionCreated {
					t.Fatalf("provision %d: %+v, %v; want created", i, res, err)
				}
				mail, ok := h.tenant.LastEmailTo(email)
				if !ok {
					t.Fatalf("provision %d: no reset email", i)
				}
				if _, err := h.tenant.FollowResetLink(mail.Link, "Chosen-by-them-1815!"); err != nil {
					t.Fatalf("provision %d: follow the reset link: %v", i, err)
				}
				u, _ := h.tenant.User(res.Record.UserID)
				h.enqueue(h.loginEvent(u))
				users = append(users, u)
			}

			for _, u := range users {
				h.waitStatus(u.ID, store.StatusVerified)
				if got, _ := h.tenant.User(u.ID); !got.EmailVerified {
					t.Errorf("%s: record verified, tenant email_verified false", u.ID)
				}
			}
			for _, c := range h.tenant.Calls() {
				if c.Status == http.StatusTooManyRequests {
					t.Errorf("%s %s answered 429 at %s", c.Method, c.Path, c.At.Format("15:04:05.000"))
				}
			}
		})
	}
}
