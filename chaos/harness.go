//go:build linux

package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/proof"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
	"github.com/redis/go-redis/v9"
)

// Config is one chaos run.
type Config struct {
	Seed     uint64
	Duration time.Duration // the load and faults, both phases together
	Replicas int           // mailproof serve processes per phase
	Rate     float64       // logins per second
	Out      io.Writer     // the fault log and the table
	Dir      string        // the binary and the replicas' logs
}

// Fault kinds, as the table counts them.
const (
	faultReplicaKill   = "replica kill -9"
	faultRedisKill     = "redis kill -9 + restart (AOF)"
	faultRedisFreeze   = "redis frozen (SIGSTOP)"
	faultBlackhole     = "partition: blackhole"
	faultReset         = "partition: connections reset"
	faultFailover      = "sentinel failover (master kill -9)"
	faultAuth0Status   = "auth0 5xx"
	faultAuth0Limited  = "auth0 429"
	faultAuth0Latency  = "auth0 latency past timeout"
	faultAuth0Dropped  = "auth0 dropped connection"
	faultAuth0Lost     = "auth0 answer lost after the write"
	auth0TimeoutConfig = 2 * time.Second // MAILPROOF_AUTH0_TIMEOUT of the replicas
)

const webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// drainTimeout bounds the wait, after the last fault, for every job to finish
// and every lost event to be found by the sweep.
const drainTimeout = 150 * time.Second

// run is a whole chaos run: a single-node phase, then a Sentinel phase, each
// with its own Redis, replicas and users, against one emulated tenant.
type run struct {
	t      testing.TB
	cfg    Config
	start  time.Time
	dir    string
	bin    string
	tenant *auth0test.Tenant
	out    io.Writer
	outMu  sync.Mutex
}

func (r *run) logf(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, "%7.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// phase is one Redis deployment under load and faults.
type phase struct {
	name     string
	duration time.Duration
	rng      *rand.Rand // the fault schedule
	users    []*user
	replicas []*replica
	store    *store.Redis // the harness's own connection, around any proxy
	load     *load

	redis *redistest.Server // single
	proxy *proxy
	set   *redistest.SentinelSet // sentinel

	faults   map[string]int
	result   result
	drained  time.Duration
	drainErr error
}

// runSuite runs the suite and returns the table's numbers; the test fails it when
// a must-be-0 row is not 0.
func runSuite(t testing.TB, cfg Config) []*phase {
	r := &run{t: t, cfg: cfg, out: cfg.Out, start: time.Now()}
	r.dir = cfg.Dir
	bin, err := buildMailproof(t.Context(), r.dir)
	if err != nil {
		t.Fatal(err)
	}
	r.bin = bin
	// The custom plan's 50 calls/s, so that 429s come from the faults, and the
	// replicas' budget (MAILPROOF_AUTH0_RATE) well under it.
	r.tenant = auth0test.NewT(t, auth0test.Config{})
	fmt.Fprintf(r.out, "chaos: seed %d, duration %s, %d replicas per phase, %.1f logins/s; logs in %s\n",
		cfg.Seed, cfg.Duration, cfg.Replicas, cfg.Rate, r.dir)

	single := cfg.Duration * 2 / 3
	phases := []*phase{
		{name: "single", duration: single, rng: rand.New(rand.NewPCG(cfg.Seed, 1)), faults: map[string]int{}},
		{name: "sentinel", duration: cfg.Duration - single, rng: rand.New(rand.NewPCG(cfg.Seed, 2)), faults: map[string]int{}},
	}
	for i, p := range phases {
		r.runPhase(p, uint64(i+1))
	}
	return phases
}

func (r *run) runPhase(p *phase, salt uint64) {
	t := r.t
	ctx := t.Context()
	r.logf("phase %s: starting Redis and %d replicas", p.name, r.cfg.Replicas)
	var url, directURL string
	minReplicas := "0"
	switch p.name {
	case "single":
		// AOF with everysec, Redis's default once AOF is on and what the README
		// recommends: a kill -9 of the Redis process loses nothing under it, since
		// each write reached the operating system before Redis answered. Only a host
		// crash could lose the last second, and this suite does not stage one.
		p.redis = redistest.Dedicated(t, "--appendonly", "yes", "--appendfsync", "everysec")
		px, err := startProxy(p.redis.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(px.Close)
		p.proxy = px
		url, directURL = "redis://"+px.Addr()+"/0", p.redis.URL()
	case "sentinel":
		p.set = redistest.DedicatedSentinel(t)
		for _, s := range []*redistest.Server{p.set.Master(), p.set.Replica()} {
			enableAOF(t, s.Addr())
		}
		url, directURL = p.set.URL(), p.set.URL()
		// A 202 only once the event reached the replica: without it a failover can
		// lose what was acknowledged.
		minReplicas = "1"
	}
	st, err := store.Open(ctx, directURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p.store = st

	env := map[string]string{
		"MAILPROOF_REDIS_URL":           url,
		"MAILPROOF_REDIS_MIN_REPLICAS":  minReplicas,
		"MAILPROOF_AUTH0_DOMAIN":        r.tenant.Domain(),
		"MAILPROOF_AUTH0_CLIENT_ID":     r.tenant.ClientID(),
		"MAILPROOF_AUTH0_CLIENT_SECRET": r.tenant.ClientSecret(),
		"MAILPROOF_AUTH0_CA_FILE":       r.tenant.CAFile(),
		"MAILPROOF_AUTH0_RATE":          "20",
		"MAILPROOF_AUTH0_TIMEOUT":       auth0TimeoutConfig.String(),
		"MAILPROOF_WEBHOOK_SECRETS":     webhookSecret,
		"MAILPROOF_SHUTDOWN_GRACE":      "5s",
		"MAILPROOF_VISIBILITY_TIMEOUT":  "10s",
		"MAILPROOF_RECONCILE_INTERVAL":  "10s",
		"MAILPROOF_LOG_LEVEL":           "info",
	}
	var targets []string
	for i := range r.cfg.Replicas {
		rep, err := newReplica(fmt.Sprintf("%s-replica-%d", p.name, i+1), r.bin, r.dir, env)
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rep.Stop)
		p.replicas = append(p.replicas, rep)
		targets = append(targets, "http://"+rep.listen+handlers.PostLoginPath)
	}
	readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	for _, rep := range p.replicas {
		if err := rep.WaitReady(readyCtx); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	cancel()

	r.makeUsers(p, salt)
	p.load = newLoad(r.tenant, webhookSecret, targets)

	// The load: one user's story every 1/Rate, in the order drawn from the seed.
	loadCtx, stopLoad := context.WithTimeout(ctx, p.duration)
	defer stopLoad()
	loaderDone := make(chan struct{})
	go func() {
		defer close(loaderDone)
		every := time.Duration(float64(time.Second) / r.cfg.Rate)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for _, u := range p.users {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			p.load.play(loadCtx, u, r.logf)
		}
	}()

	// The faults, one at a time, on the test goroutine (redistest's helpers fail
	// the test from here only).
	r.logf("phase %s: load at %.1f logins/s for %s, faults from seed", p.name, r.cfg.Rate, p.duration)
	phaseStart := time.Now()
	for _, f := range planFaults(p) {
		time.Sleep(time.Until(phaseStart.Add(f.at)))
		if time.Until(deadlineOf(loadCtx)) < f.dur {
			break // a fault that ran late must not reach into the drain
		}
		r.fault(p, f.kind, f.dur)
		p.faults[f.kind]++
	}
	<-loadCtx.Done()
	<-loaderDone // no user starts after this: played is settled
	r.logf("phase %s: load over; faults stopped; draining (at most %s)", p.name, drainTimeout)
	r.drain(p)
	p.result = r.count(p)
	for _, rep := range p.replicas {
		rep.Stop()
	}
	r.logf("phase %s: done", p.name)
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// enableAOF turns AOF on at run time: the Sentinel set's servers start without
// it, and serve refuses a Redis without it.
func enableAOF(t testing.TB, addr string) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ConfigSet(t.Context(), "appendonly", "yes").Err(); err != nil {
		t.Fatalf("CONFIG SET appendonly yes on %s: %v", addr, err)
	}
}

// plannedFault is one fault of the schedule: when it starts, from the phase's
// start, and for how long.
type plannedFault struct {
	at, dur time.Duration
	kind    string
}

// failoverCost is about how long a failover takes, promotion and rejoin; the next
// one waits at least failoverGap, so the old master is a replica again first.
const (
	failoverCost = 6 * time.Second
	failoverGap  = 20 * time.Second
)

// planFaults draws the phase's whole fault schedule from the seed before it
// starts, so it does not depend on how the run goes: every kind of the phase
// once, in a seeded order (in the Sentinel phase the failover first), then
// kinds drawn at random; a 1–3.5 s gap before each, each lasting 2–5 s.
func planFaults(p *phase) []plannedFault {
	kinds := []string{faultReplicaKill, faultAuth0Status, faultAuth0Limited, faultAuth0Latency, faultAuth0Dropped, faultAuth0Lost}
	if p.name == "single" {
		kinds = append(kinds, faultRedisKill, faultRedisFreeze, faultBlackhole, faultReset)
	}
	order := slices.Clone(kinds)
	p.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	if p.name == "sentinel" {
		order = append([]string{faultFailover}, order...)
	}
	var plan []plannedFault
	var at time.Duration
	lastFailover := -failoverGap
	for i := 0; ; i++ {
		gap := time.Duration(1000+p.rng.IntN(2500)) * time.Millisecond
		dur := time.Duration(2000+p.rng.IntN(3000)) * time.Millisecond
		var kind string
		if i < len(order) {
			kind = order[i]
		} else {
			choices := kinds
			if p.name == "sentinel" && at+gap-lastFailover > failoverGap {
				choices = append(slices.Clone(kinds), faultFailover, faultFailover)
			}
			kind = choices[p.rng.IntN(len(choices))]
		}
		cost := dur
		if kind == faultFailover {
			cost = failoverCost
		}
		if at+gap+cost+time.Second > p.duration {
			return plan
		}
		at += gap
		plan = append(plan, plannedFault{at: at, dur: dur, kind: kind})
		at += cost
		if kind == faultFailover {
			lastFailover = at
		}
	}
}

// makeUsers seeds the phase's users in the tenant and registers them, as
// provisioning would have, before any fault: registering is the operator's side,
// not under test here.
func (r *run) makeUsers(p *phase, salt uint64) {
	t := r.t
	n := int(p.duration.Seconds()*r.cfg.Rate) + 1
	kinds := rand.New(rand.NewPCG(r.cfg.Seed, 100+salt))
	now := time.Now().UTC()
	for i := range n {
		u := &user{
			kind:     drawKind(kinds),
			phase:    p.name,
			email:    fmt.Sprintf("%s-%04d@chaos.example", p.name, i),
			newEmail: fmt.Sprintf("%s-%04d-new@chaos.example", p.name, i),
			rng:      rand.New(rand.NewPCG(r.cfg.Seed, salt<<32|uint64(i))),
		}
		seed := auth0test.UserSeed{Email: u.email, Connection: auth0test.DefaultConnection, Password: "not-used-1!", CreatedAt: now.Add(-time.Hour)}
		if u.kind != kindUnregistered {
			seed.AppMetadata = map[string]any{"mailproof": map[string]any{"provisioned_at": now.Format(time.RFC3339)}}
		}
		if u.kind == kindNoReset {
			seed.LastPasswordReset = now.Add(-30 * time.Minute) // before the registration
		}
		u.id = r.tenant.AddUser(seed).ID
		if u.kind != kindUnregistered {
			if err := p.store.PutPending(t.Context(), store.Record{UserID: u.id, Email: event.NormalizeEmail(u.email), Connection: auth0test.DefaultConnection}); err != nil {
				t.Fatalf("register %s: %v", u.id, err)
			}
		}
		p.users = append(p.users, u)
	}
	// The resets come after every registration, so each is later than its record's
	// provisioning time by the clock mailproof compares.
	time.Sleep(10 * time.Millisecond)
	for _, u := range p.users {
		if u.kind != kindNoReset {
			r.tenant.ResetPassword(u.id, time.Now())
		}
	}
	counts := map[string]int{}
	for _, u := range p.users {
		counts[u.kind]++
	}
	var parts []string
	for _, k := range kindWeights {
		parts = append(parts, fmt.Sprintf("%s %d", k.kind, counts[k.kind]))
	}
	r.logf("phase %s: %d users: %s", p.name, n, strings.Join(parts, ", "))
}

// fault stages one fault for dur and undoes it.
func (r *run) fault(p *phase, kind string, dur time.Duration) {
	t := r.t
	auth0 := func(f auth0test.Fault) {
		f.PathPrefix = "/api/v2/"
		r.tenant.Inject(f)
		time.Sleep(dur)
		r.tenant.ClearFaults()
	}
	switch kind {
	case faultReplicaKill:
		var up []*replica
		for _, rep := range p.replicas {
			if rep.Running() {
				up = append(up, rep)
			}
		}
		if len(up) < 2 {
			return
		}
		rep := up[p.rng.IntN(len(up))]
		r.logf("fault: %s %s for %s", kind, rep.name, dur)
		rep.Kill()
		time.Sleep(dur)
		if err := rep.Start(); err != nil {
			t.Fatal(err)
		}
	case faultRedisKill:
		r.logf("fault: %s, down %s", kind, dur)
		p.redis.Stop()
		time.Sleep(dur)
		p.redis.Start()
	case faultRedisFreeze:
		r.logf("fault: %s for %s", kind, dur)
		p.redis.Pause()
		time.Sleep(dur)
		p.redis.Resume()
	case faultBlackhole:
		r.logf("fault: %s for %s", kind, dur)
		p.proxy.Partition("blackhole")
		time.Sleep(dur)
		p.proxy.Heal()
	case faultReset:
		r.logf("fault: %s for %s", kind, dur)
		p.proxy.Partition("reset")
		time.Sleep(dur)
		p.proxy.Heal()
	case faultFailover:
		r.failover(p)
	case faultAuth0Status:
		status := []int{500, 502, 503}[p.rng.IntN(3)]
		r.logf("fault: %s (%d) for %s", kind, status, dur)
		auth0(auth0test.Fault{Status: status})
	case faultAuth0Limited:
		r.logf("fault: %s for %s", kind, dur)
		auth0(auth0test.Fault{Status: http.StatusTooManyRequests})
	case faultAuth0Latency:
		r.logf("fault: %s (%s) for %s", kind, auth0TimeoutConfig+time.Second, dur)
		auth0(auth0test.Fault{Latency: auth0TimeoutConfig + time.Second})
	case faultAuth0Dropped:
		r.logf("fault: %s for %s", kind, dur)
		auth0(auth0test.Fault{Drop: true})
	case faultAuth0Lost:
		// The write lands and its answer is dropped or outlasts the client's
		// timeout: the flip happened and the worker cannot know it. Its retry must
		// read the user again and not PATCH a second time.
		f := auth0test.Fault{AfterWrite: true, Drop: true}
		how := "dropped"
		if p.rng.IntN(2) == 0 {
			f = auth0test.Fault{AfterWrite: true, Latency: auth0TimeoutConfig + time.Second}
			how = "late"
		}
		r.logf("fault: %s (%s) for %s", kind, how, dur)
		auth0(f)
	}
}

// failover kills the Sentinel set's current master with SIGKILL, waits for the
// sentinels to promote the replica, then starts the old master again, which the
// sentinels turn into the new master's replica (with MIN_REPLICAS=1 the
// receiver answers 503 until it is back).
func (r *run) failover(p *phase) {
	t := r.t
	servers := []*redistest.Server{p.set.Master(), p.set.Replica()}
	master := r.sentinelMaster(p)
	var old *redistest.Server
	for _, s := range servers {
		if s.Addr() == master {
			old = s
		}
	}
	if old == nil {
		t.Fatalf("the sentinels name %s as master, neither server of the set", master)
	}
	r.logf("fault: %s: killing master %s", faultFailover, master)
	old.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for r.sentinelMaster(p) == master {
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 30s of killing master %s", master)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.logf("fault: %s: sentinels promoted %s; restarting the old master", faultFailover, r.sentinelMaster(p))
	time.Sleep(time.Second)
	old.Start()
	enableAOF(t, old.Addr())
}

// sentinelMaster is the master the sentinels name now ("" when none answers).
func (r *run) sentinelMaster(p *phase) string {
	opt, err := redis.ParseFailoverURL(p.set.URL())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, addr := range opt.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		got, err := sc.GetMasterAddrByName(r.t.Context(), opt.MasterName).Result()
		_ = sc.Close()
		if err == nil && len(got) == 2 {
			return got[0] + ":" + got[1]
		}
	}
	return ""
}

// drain ends every fault, brings every replica back, waits for the load's late
// deliveries, then waits (bounded) for the queue to empty, every accepted event
// to have a final outcome and every eligible user to be flipped: a user whose
// events were all lost is found by the reconcile sweep.
func (r *run) drain(p *phase) {
	start := time.Now()
	r.tenant.ClearFaults()
	for _, rep := range p.replicas {
		if !rep.Running() {
			r.logf("phase %s: %s was not running at the drain; starting it (see %s)", p.name, rep.name, rep.logPath)
			if err := rep.Start(); err != nil {
				r.t.Fatal(err)
			}
		}
	}
	p.load.wg.Wait()
	deadline := start.Add(drainTimeout)
	for {
		res := r.count(p)
		done := res.queued == 0 && res.inFlight == 0 && res.delayed == 0 &&
			res.eligibleOnce+res.eligibleTwice == res.eligible && res.withoutOutcome == 0
		if done {
			break
		}
		if time.Now().After(deadline) {
			p.drainErr = fmt.Errorf("not drained within %s: %d queued, %d in flight, %d delayed, %d of %d eligible flipped, %d accepted events without an outcome",
				drainTimeout, res.queued, res.inFlight, res.delayed, res.eligibleOnce, res.eligible, res.withoutOutcome)
			r.logf("phase %s: %v", p.name, p.drainErr)
			r.explain(p)
			break
		}
		time.Sleep(time.Second)
	}
	p.drained = time.Since(start)
	r.logf("phase %s: drained in %s", p.name, p.drained.Round(100*time.Millisecond))
}

// result is one phase's column of the table.
type result struct {
	users, eligible, ineligible             int
	sent, accepted, replays                 int
	unavailable, lost                       int // answered 503; timed out or a network error
	eligibleOnce, eligibleTwice, eligibleNo int // flipped exactly once, more than once, never
	ineligibleFlipped, takenBack            int
	withoutOutcome                          int
	secondPatches                           int
	queued, inFlight, delayed, dead, undos  int64
	statsErr                                error
}

// terminal says whether an audit outcome ends a job: the policy's outcomes do. A
// retry, a deferral or a dead letter does not (a dead letter waits for a person),
// nor does the check of a flip that a dead letter may have made (flip_checked),
// which carries the same webhook id.
func terminal(outcome string) bool {
	switch outcome {
	case proof.OutcomeVerified, proof.OutcomeNotPending, proof.OutcomeAlreadyVerified, proof.OutcomeEmailChanged,
		proof.OutcomeWrongConnection, proof.OutcomeWrongMethod, proof.OutcomeNoPasswordReset,
		proof.OutcomeChangedSinceEvent, proof.OutcomeChangedDuringFlip, proof.OutcomeUserNotFound,
		proof.OutcomeNoLoginSinceReset, proof.OutcomeNoEmail:
		return true
	}
	return false
}

// count reads the ground truth: the emulator's users and its log of calls, and
// what the load generator sent and was answered. Only "accepted events without a
// final outcome" reads mailproof's audit trail (an outcome is mailproof's own
// act), and the queue rows read its Redis.
func (r *run) count(p *phase) result {
	ctx, cancel := context.WithTimeout(r.t.Context(), 10*time.Second)
	defer cancel()
	var res result
	// PATCHes that set email_verified true and that the tenant carried out, per user.
	trues := map[string]int{}
	for _, c := range r.tenant.Calls() {
		if c.Method != http.MethodPatch || c.Status < 200 || c.Status > 299 || !strings.HasPrefix(c.Path, "/api/v2/users/") {
			continue
		}
		if strings.Contains(strings.ReplaceAll(string(c.Body), " ", ""), `"email_verified":true`) {
			trues[strings.TrimPrefix(c.Path, "/api/v2/users/")]++
		}
	}
	for _, u := range p.users {
		if !u.played {
			continue // the load window closed before this user's turn
		}
		res.users++
		u.mu.Lock()
		for _, d := range u.events {
			res.sent++
			if d.replay {
				res.replays++
			}
			switch {
			case d.result == "202":
				res.accepted++
			case d.result == "503":
				res.unavailable++
			case d.result == "timeout" || d.result == "network":
				res.lost++
			}
		}
		u.mu.Unlock()
		now, _ := r.tenant.User(u.id)
		n := trues[u.id]
		res.secondPatches += max(n-1, 0)
		if eligible(u.kind) {
			res.eligible++
			switch {
			case n == 1 && now.EmailVerified:
				res.eligibleOnce++
			case n > 1:
				res.eligibleTwice++
			default:
				res.eligibleNo++
			}
		} else {
			res.ineligible++
			if now.EmailVerified {
				res.ineligibleFlipped++
			} else if n > 0 {
				res.takenBack++
			}
		}
		if ids := u.acceptedIDs(); len(ids) > 0 {
			trail, err := p.store.Audit(ctx, u.id, store.MaxListLimit)
			if err != nil {
				res.statsErr = err
				res.withoutOutcome += len(ids)
				continue
			}
			for _, id := range ids {
				if !slices.ContainsFunc(trail, func(e store.AuditEntry) bool { return e.WebhookID == id && terminal(e.Outcome) }) {
					res.withoutOutcome++
				}
			}
		}
	}
	st, err := p.store.QueueStats(ctx)
	if err != nil {
		res.statsErr = err
		res.queued = -1
		return res
	}
	res.queued, res.inFlight, res.delayed, res.dead, res.undos = st.Queued, st.InFlight, st.Delayed, st.Dead, st.Undos
	return res
}

// explain logs, for each user the table will count against mailproof, what the
// load generator saw and what the audit trail says, so a failing seed can be
// read without replaying it.
func (r *run) explain(p *phase) {
	ctx := r.t.Context()
	shown := 0
	for _, u := range p.users {
		if !u.played {
			continue
		}
		now, _ := r.tenant.User(u.id)
		bad := (eligible(u.kind) && !now.EmailVerified) || (!eligible(u.kind) && now.EmailVerified)
		if !bad || shown >= 10 {
			continue
		}
		shown++
		u.mu.Lock()
		events := fmt.Sprint(u.events)
		u.mu.Unlock()
		r.logf("  user %s (%s): verified %t; events %s", u.id, u.kind, now.EmailVerified, events)
		trail, _ := p.store.Audit(ctx, u.id, 20)
		for i := len(trail) - 1; i >= 0; i-- {
			e := trail[i]
			r.logf("    audit %s %s webhook %s attempt %d %s %s", e.Time.Format("15:04:05.000"), e.Outcome, e.WebhookID, e.Attempt, e.Error, e.DeferReason)
		}
		rec, err := p.store.Get(ctx, u.id)
		r.logf("    record status %s, outcome %q, holder %q (%v)", rec.Status, rec.Outcome, rec.Holder, err)
		for _, c := range r.tenant.Calls() {
			if strings.HasSuffix(c.Path, u.id) {
				r.logf("    call %s %s %s %d %s", c.At.Format("15:04:05.000"), c.Method, c.Path, c.Status, c.Body)
			}
		}
	}
}
