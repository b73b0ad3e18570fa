//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/webhook"
)

// Kinds of user the load generator plays. Whether a user may be flipped is
// decided here, by what the harness did to it, never by what mailproof says.
const (
	// kindEligible: registered, a password reset after registration, a
	// password login, the same address throughout. Must end flipped, once.
	kindEligible = "eligible"
	// kindEligibleTwice: eligible, and logs in a second time a little later
	// (a second event, a second job). Must end flipped, once.
	kindEligibleTwice = "eligible_twice"
	// kindNoReset: registered, but the only password reset predates the
	// registration. Must stay unflipped.
	kindNoReset = "no_reset"
	// kindChangedBefore: changes the address after the reset and before the
	// login, so the event already carries the new one. Must stay unflipped.
	kindChangedBefore = "changed_before_login"
	// kindChangedAtRead: the address changes after the event was sent,
	// just before the worker's fresh read of the user. Must stay unflipped.
	kindChangedAtRead = "changed_at_read"
	// kindChangedAtPatch: the address changes just before the tenant handles
	// the flip's PATCH, so the PATCH lands on an address nobody proved. Must
	// end unflipped: mailproof sees the new address in the PATCH's answer and
	// takes the flip back. Counted in "set then taken back".
	kindChangedAtPatch = "changed_at_patch"
	// kindUnregistered: never registered with mailproof; the receiver answers
	// not_pending. Must stay unflipped.
	kindUnregistered = "unregistered"
)

// eligible says whether the user proved the mailbox and kept the address.
func eligible(kind string) bool { return kind == kindEligible || kind == kindEligibleTwice }

// kindWeights is the mix of users; drawn per user from the seed.
var kindWeights = []struct {
	kind   string
	weight int
}{
	{kindEligible, 55},
	{kindEligibleTwice, 12},
	{kindNoReset, 7},
	{kindChangedBefore, 6},
	{kindChangedAtRead, 8},
	{kindChangedAtPatch, 8},
	{kindUnregistered, 4},
}

func drawKind(r *rand.Rand) string {
	total := 0
	for _, k := range kindWeights {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range kindWeights {
		if n < k.weight {
			return k.kind
		}
		n -= k.weight
	}
	panic("unreachable")
}

// user is one person of the run and what the load generator saw for them.
type user struct {
	id, email, newEmail string
	kind                string
	phase               string
	rng                 *rand.Rand // this user's own draws, from the seed and its index
	played              bool       // the load reached this user before its window closed

	mu     sync.Mutex
	events []delivery
}

// delivery is one event the load generator sent, as the Action would have.
type delivery struct {
	webhookID string
	replay    bool   // the same webhook-id sent again, late
	result    string // "202", "200 duplicate", "503", "timeout", "network", …
}

func (u *user) record(d delivery) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.events = append(u.events, d)
}

// acceptedIDs are the webhook ids the receiver answered 202 for.
func (u *user) acceptedIDs() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var ids []string
	for _, d := range u.events {
		if d.result == "202" {
			ids = append(ids, d.webhookID)
		}
	}
	return ids
}

// actionTimeout and retryMinRemaining are the Action's (deploy/action/post-login.js):
// 2 s for the whole delivery, one retry after a network error only, and only with
// at least 250 ms left. An HTTP status, a 503 included, is an answer and is not retried:
// the reconcile sweep finds those logins later.
const (
	actionTimeout     = 2 * time.Second
	retryMinRemaining = 250 * time.Millisecond
)

// load logs users in at the emulator and delivers their post-login events to
// the replicas.
type load struct {
	tenant  *auth0test.Tenant
	secret  string
	targets []string // receiver URLs; one is picked per attempt, as a load balancer would
	client  *http.Client

	mu     sync.Mutex
	latest map[string]auth0test.PostLoginEvent // user id → event of its last login
	wg     sync.WaitGroup
}

func newLoad(tenant *auth0test.Tenant, secret string, targets []string) *load {
	l := &load{tenant: tenant, secret: secret, targets: targets, latest: map[string]auth0test.PostLoginEvent{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 20 * time.Second}}}
	tenant.OnLogin(func(ev auth0test.PostLoginEvent) {
		l.mu.Lock()
		l.latest[ev.User.UserID] = ev
		l.mu.Unlock()
	})
	return l
}

// login logs u in (a password login, as through Universal Login) and returns the
// event an Action would get; the hooks run before Login returns.
func (l *load) login(u *user) (auth0test.PostLoginEvent, error) {
	if _, ok := l.tenant.Login(u.id, time.Now()); !ok {
		return auth0test.PostLoginEvent{}, fmt.Errorf("login %s: no such user", u.id)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest[u.id], nil
}

// play runs one user's story in its own goroutine; follow-ups (a late replay, a
// second login) may outlast ctx's load window but not the drain.
func (l *load) play(ctx context.Context, u *user, logf func(string, ...any)) {
	u.played = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if u.kind == kindChangedBefore {
			l.tenant.ChangeEmail(u.id, u.newEmail, false)
		}
		ev, err := l.login(u)
		if err != nil {
			logf("%v", err)
			return
		}
		// Armed after the login, so the event carries the address the user proved.
		switch u.kind {
		case kindChangedAtRead:
			l.tenant.ScheduleEmailChange(auth0test.EmailChange{UserID: u.id, Email: u.newEmail, Method: http.MethodGet})
		case kindChangedAtPatch:
			l.tenant.ScheduleEmailChange(auth0test.EmailChange{UserID: u.id, Email: u.newEmail, Method: http.MethodPatch})
		}
		id, body, ok := actionBody(ev)
		if !ok {
			return
		}
		l.deliver(ctx, u, id, body, false)
		// Draws are taken up front so the user's stream of draws does not depend
		// on answers.
		replay, replayAfter := u.rng.Float64() < 0.15, time.Duration(2+u.rng.IntN(15))*time.Second
		againAfter := time.Duration(1+u.rng.IntN(10)) * time.Second
		if replay {
			time.Sleep(replayAfter)
			l.deliver(ctx, u, id, body, true)
		}
		if u.kind == kindEligibleTwice {
			time.Sleep(againAfter)
			ev, err := l.login(u)
			if err != nil {
				logf("%v", err)
				return
			}
			if id, body, ok := actionBody(ev); ok {
				l.deliver(ctx, u, id, body, false)
			}
		}
	}()
}

// actionBody is what the Action sends for ev, under a new webhook id; ok is false
// where the Action sends nothing (a verified user, not a database connection).
func actionBody(ev auth0test.PostLoginEvent) (id string, body []byte, ok bool) {
	if ev.User.EmailVerified || ev.Connection.Strategy != "auth0" {
		return "", nil, false
	}
	body, err := json.Marshal(map[string]any{"type": "auth0.post_login", "timestamp": time.Now().UTC().Format(time.RFC3339Nano), "data": ev})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return webhook.NewMessageID(), body, true
}

// deliver POSTs body the way the Action's deliver does: a fresh timestamp and
// signature per attempt under the same webhook id, 2 s in all, one retry after a
// network error (to another replica, as a load balancer would pick).
func (l *load) deliver(ctx context.Context, u *user, id string, body []byte, replay bool) {
	deadline := time.Now().Add(actionTimeout)
	cctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	first := u.rng.IntN(len(l.targets))
	result := ""
	for attempt := 1; ; attempt++ {
		target := l.targets[(first+attempt-1)%len(l.targets)]
		result = l.post(cctx, target, id, body)
		if result != "network" || cctx.Err() != nil {
			if cctx.Err() != nil && result == "network" {
				result = "timeout"
			}
			break
		}
		if attempt >= 2 || time.Until(deadline) < retryMinRemaining {
			break
		}
	}
	u.record(delivery{webhookID: id, replay: replay, result: result})
}

func (l *load) post(ctx context.Context, url, id string, body []byte) string {
	now := time.Now()
	req, err := webhook.NewRequest(ctx, url, l.secret, id, now, body)
	if err != nil {
		panic(err) // the harness's own secret and URL
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "network"
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "network"
	}
	var answer struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(b, &answer)
	switch {
	case resp.StatusCode == http.StatusAccepted:
		return "202"
	case resp.StatusCode == http.StatusOK && answer.Reason != "":
		return "200 " + answer.Reason
	case resp.StatusCode == http.StatusOK:
		return "200 " + answer.Status
	}
	return strconv.Itoa(resp.StatusCode)
}
