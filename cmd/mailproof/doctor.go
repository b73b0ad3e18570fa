package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
	deployaction "github.com/mailproof/mailproof/deploy/action"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/handlers"
	"github.com/mailproof/mailproof/server"
	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/webhook"
)

const doctorUsage = `Usage:
  mailproof doctor [--url URL] [--action-name NAME] [--connection NAME] [--timeout D]

Checks the deployment this environment describes, from your shell, and prints a
checklist with a fix for each failure: the configuration; Redis (reachable,
noeviction, persistence, version 6.2 or later); the Auth0 application's grant and
the scopes its token carries; the tenant's rate limit against MAILPROOF_AUTH0_RATE;
the post-login Action (exists, deployed, runs this binary's code, bound); the
webhook secret, with a signed self-test event through your public URL (--url); and
the database connection. Exits 0 only when every check passes (warnings pass), 1
otherwise. Reads the same MAILPROOF_* variables as serve. It changes nothing: one
Management API read, and with --url one event for a user nobody has.`

// Check statuses, in the checklist's first column.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "FAIL"
	checkSkip = "skip"
)

// checkResult is one line of the checklist.
type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorRun is one doctor run's state: what earlier checks found, for the later ones.
type doctorRun struct {
	getenv     func(string) string
	url        string
	actionName string
	connection string
	timeout    time.Duration
	results    []checkResult
	rdb        *store.Redis
	a0         *auth0client.Client
	cfg        server.Config
}

func doctorCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("doctor", doctorUsage, doctorSettings(), stdout, stderr)
	url := fs.String("url", "", "the receiver's public base URL (the Action's MAILPROOF_URL): send a signed self-test event through it")
	name := fs.String("action-name", "mailproof-post-login", "the post-login Action's name, as action deploy gave it")
	connection := fs.String("connection", "", "the database connection users are provisioned in (default "+defaultConnection()+")")
	timeout := fs.Duration("timeout", 10*time.Second, "how long each check may take")
	asJSON := fs.Bool("json", false, "print the checklist as JSON")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 || *timeout <= 0 {
		return fs.fail("takes no arguments; --timeout must be positive")
	}
	d := &doctorRun{getenv: getenv, url: strings.TrimRight(*url, "/"), actionName: *name, connection: *connection, timeout: *timeout}
	if d.connection == "" {
		d.connection = defaultConnection()
	}
	defer d.close()
	for _, c := range []func(context.Context){d.checkConfig, d.checkRedis, d.checkAuth0, d.checkRateLimit, d.checkConnection, d.checkAction, d.checkSecret} {
		cctx, cancel := context.WithTimeout(ctx, d.timeout)
		c(cctx)
		cancel()
	}
	failed := 0
	for _, r := range d.results {
		if r.Status == checkFail {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d.results); err != nil {
			return err
		}
	} else {
		d.print(stdout, failed)
	}
	if failed > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", failed, len(d.results))
	}
	return nil
}

// doctorSettings are the variables doctor reads: all of serve's.
func doctorSettings() []string {
	var names []string
	for _, s := range server.Settings() {
		names = append(names, s.Name)
	}
	return names
}

func defaultConnection() string { return "Username-Password-Authentication" }

func (d *doctorRun) add(name, status, detail, fix string) {
	d.results = append(d.results, checkResult{Name: name, Status: status, Detail: detail, Fix: fix})
}

func (d *doctorRun) close() {
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
}

func (d *doctorRun) print(w io.Writer, failed int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range d.results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Name, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", r.Fix)
		}
	}
	_ = tw.Flush()
	if failed == 0 {
		fmt.Fprintf(w, "\nall %d checks passed\n", len(d.results))
	} else {
		fmt.Fprintf(w, "\n%d of %d checks failed\n", failed, len(d.results))
	}
}

// checkConfig loads serve's whole configuration, as serve would.
func (d *doctorRun) checkConfig(context.Context) {
	cfg, err := server.LoadConfig(d.getenv)
	if err != nil {
		d.add("config", checkFail, errLine(err), "set or correct the variables named (README, Configuration); serve refuses to start with them")
		// The later checks read what they need on their own.
		d.cfg, _ = server.LoadSettings(d.getenv, append(slices.Clone(auth0Settings), "MAILPROOF_WEBHOOK_SECRETS")...)
		return
	}
	d.cfg = cfg
	d.add("config", checkOK, "every MAILPROOF_* setting is valid", "")
}

// checkRedis: reachable, noeviction, persistence on, version 6.2 or later.
func (d *doctorRun) checkRedis(ctx context.Context) {
	rdb, err := openStore(ctx, d.getenv)
	if err == nil {
		err = rdb.Ping(ctx)
	}
	if err != nil {
		d.add("redis", checkFail, errLine(err), "check MAILPROOF_REDIS_URL (host, port, password, TLS) and that Redis runs")
		if rdb != nil {
			_ = rdb.Close()
		}
		return
	}
	d.rdb = rdb
	version, verr := redisVersion(ctx, rdb)
	switch {
	case verr != nil:
		d.add("redis", checkWarn, "answers; its version is unknown ("+errLine(verr)+")", "mailproof needs Redis 6.2 or later: check it by hand (redis-cli INFO server)")
	case !versionAtLeast(version, 6, 2):
		d.add("redis", checkFail, "answers, but runs Redis "+version, "upgrade to Redis 6.2 or later (mailproof uses XAUTOCLAIM and GETDEL)")
	default:
		d.add("redis", checkOK, "answers, Redis "+version, "")
	}
	d.checkReplicas(ctx, rdb)
	d.checkLayout(ctx, rdb)
	st, err := rdb.ReadSettings(ctx)
	if err != nil {
		d.add("redis settings", checkFail, errLine(err), "allow CONFIG GET or INFO for mailproof's Redis user")
		return
	}
	if err := st.CheckEviction(); err != nil {
		d.add("redis eviction", checkFail, errLine(err), "set maxmemory-policy noeviction: an evicting Redis drops queued logins")
	} else {
		d.add("redis eviction", checkOK, "maxmemory-policy noeviction", "")
	}
	switch {
	case st.AppendOnly == "yes":
		detail := "AOF on"
		if st.AppendFsync != "" {
			detail += ", appendfsync " + st.AppendFsync
		}
		status := checkOK
		if loss := st.Loss(); st.AppendFsync == "no" {
			status, detail = checkWarn, detail+": may lose "+loss
		}
		d.add("redis persistence", status, detail, "")
	case st.Save != "":
		d.add("redis persistence", checkWarn, "RDB snapshots only (save "+strconv.Quote(st.Save)+"): may lose "+st.Loss(),
			"turn AOF on (appendonly yes, appendfsync everysec); serve needs MAILPROOF_REDIS_DURABILITY=relaxed without it")
	case st.AppendOnly == "":
		d.add("redis persistence", checkWarn, "unknown: neither CONFIG GET nor INFO says", "check that AOF is on by hand")
	default:
		d.add("redis persistence", checkFail, "none: a restart forgets every queued login and pending record",
			"turn AOF on (appendonly yes, appendfsync everysec)")
	}
}

// checkReplicas compares MAILPROOF_REDIS_MIN_REPLICAS with the replicas connected to
// the master of mailproof's keys: with fewer, every event would be answered 503.
func (d *doctorRun) checkReplicas(ctx context.Context, rdb *store.Redis) {
	cfg, err := server.LoadSettings(d.getenv, "MAILPROOF_REDIS_MIN_REPLICAS")
	if err != nil {
		return // the config check names it
	}
	want := cfg.RedisMinReplicas
	n, err := rdb.ConnectedReplicas(ctx)
	switch {
	case err != nil && want > 0:
		d.add("redis replicas", checkFail, errLine(err), fmt.Sprintf("allow INFO for mailproof's Redis user: MAILPROOF_REDIS_MIN_REPLICAS=%d needs the replica count", want))
	case err != nil:
		d.add("redis replicas", checkWarn, "unknown ("+errLine(err)+")", "")
	case n < want:
		d.add("redis replicas", checkFail, fmt.Sprintf("MAILPROOF_REDIS_MIN_REPLICAS is %d but the master has %d replicas connected: every event would be answered 503", want, n),
			"connect the missing replicas (INFO replication on the master) or lower MAILPROOF_REDIS_MIN_REPLICAS")
	case want == 0 && n > 0:
		d.add("redis replicas", checkOK, fmt.Sprintf("%d connected; MAILPROOF_REDIS_MIN_REPLICAS=0, so a failover can lose events accepted just before it (README, Durability)", n), "")
	case want > 0 && n == want:
		d.add("redis replicas", checkWarn, fmt.Sprintf("%d connected, as MAILPROOF_REDIS_MIN_REPLICAS asks: while any one of them is down or resyncing, every event is answered 503", n),
			"run one replica more than MAILPROOF_REDIS_MIN_REPLICAS so losing one does not stop accepting events")
	default:
		d.add("redis replicas", checkOK, fmt.Sprintf("%d connected, MAILPROOF_REDIS_MIN_REPLICAS=%d", n, want), "")
	}
}

// checkLayout says which layout records are written in (MAILPROOF_RECORD_LAYOUT),
// reading only: the hash layout of an earlier release is a warning, to be switched off
// once none of its replicas is left.
func (d *doctorRun) checkLayout(ctx context.Context, rdb *store.Redis) {
	rep, err := rdb.PeekLayout(ctx)
	switch {
	case err != nil:
		d.add("record layout", checkWarn, "unknown ("+errLine(err)+")", "")
	case rep.Layout == store.LayoutHash && rep.Why == store.ReasonEarlierRelease:
		d.add("record layout", checkWarn, "hash: this Redis holds an earlier release's data and no layout is recorded, so records are written as that release reads them (~375 bytes a pending record)",
			"once no replica of an earlier release is left, set MAILPROOF_RECORD_LAYOUT=packed on one replica (~160 bytes a pending record; the others follow within a minute)")
	case rep.Layout == store.LayoutHash:
		d.add("record layout", checkOK, "hash ("+rep.Why+"): what earlier releases read, ~375 bytes a pending record", "")
	default:
		d.add("record layout", checkOK, "packed ("+rep.Why+"), ~160 bytes a pending record", "")
	}
}

// checkAuth0: the client-credentials grant works and its token carries every scope.
func (d *doctorRun) checkAuth0(ctx context.Context) {
	if d.cfg.Auth0Domain == "" || d.cfg.Auth0ClientID == "" || d.cfg.Auth0ClientSecret == "" {
		d.add("auth0 token", checkFail, "MAILPROOF_AUTH0_DOMAIN, _CLIENT_ID and _CLIENT_SECRET are needed", "set them to the mailproof machine-to-machine application's")
		return
	}
	a0, err := auth0client.New(ctx, d.cfg.Auth0Client())
	if err != nil {
		d.add("auth0 token", checkFail, errLine(err), "check MAILPROOF_AUTH0_DOMAIN and MAILPROOF_AUTH0_CA_FILE")
		return
	}
	have, err := a0.TokenScopes(ctx)
	if err != nil {
		d.add("auth0 token", checkFail, "no Management API token: "+errLine(err),
			"check MAILPROOF_AUTH0_CLIENT_ID and _SECRET, and that the application is authorized for the Auth0 Management API")
		return
	}
	d.a0 = a0
	d.add("auth0 token", checkOK, "the client-credentials grant gives a Management API token", "")
	var missing []string
	for _, s := range auth0client.RequiredScopes {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		d.add("auth0 scopes", checkFail, "the token lacks "+strings.Join(missing, ", "), "grant them "+auth0client.GrantScopeHint)
		return
	}
	d.add("auth0 scopes", checkOK, "the token carries "+strings.Join(auth0client.RequiredScopes, " "), "")
}

// checkRateLimit compares the tenant's bucket with MAILPROOF_AUTH0_RATE.
func (d *doctorRun) checkRateLimit(ctx context.Context) {
	if d.a0 == nil {
		d.add("auth0 rate limit", checkSkip, "no Management API token", "")
		return
	}
	var rl auth0client.RateLimit
	err := paced(ctx, func() (err error) { rl, err = d.a0.ProbeRateLimit(ctx); return err })
	if err != nil {
		d.add("auth0 rate limit", checkFail, "the Management API did not answer: "+errLine(err), "check the tenant's status and MAILPROOF_AUTH0_DOMAIN")
		return
	}
	rate := d.cfg.Auth0Rate
	if rate == 0 {
		rate = 2
	}
	plan, sustained := planOf(rl.Limit)
	detail := fmt.Sprintf("the Management API answers; bucket of %d (%d left), MAILPROOF_AUTH0_RATE %g/s", rl.Limit, rl.Remaining, rate)
	switch {
	case sustained == 0:
		d.add("auth0 rate limit", checkOK, detail+"; the bucket matches no known plan, so the rate cannot be checked", "")
	case rate > sustained:
		d.add("auth0 rate limit", checkWarn, fmt.Sprintf("%s; a bucket of %d is the %s plan's, which refills at %g/s", detail, rl.Limit, plan, sustained),
			fmt.Sprintf("set MAILPROOF_AUTH0_RATE to %g or less: above the tenant's rate, flips meet 429s and wait", sustained))
	default:
		d.add("auth0 rate limit", checkOK, fmt.Sprintf("%s, within the %s plan's %g/s", detail, plan, sustained), "")
	}
}

// paced makes one check's Management API calls, waiting out a 429 until the tenant's
// reset (a few times at most): on Free, a bucket of 2 is spent by doctor's own reads.
func paced(ctx context.Context, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		var rl *auth0client.RateLimitError
		if !errors.As(err, &rl) || attempt == 4 {
			return err
		}
		wait := max(time.Until(rl.Reset), 100*time.Millisecond)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// planOf names the plan whose bucket for a user read (the probe) holds limit calls, and
// the rate mailproof should budget on it (0 when no plan matches): the headers give the
// bucket, not its refill, so the plan is recognised by its size. The numbers are the
// ones the bundled emulator applies, from Auth0's rate-limit policy pages.
func planOf(limit int) (string, float64) {
	plan := map[int]string{2: auth0test.PlanFree, 40: auth0test.PlanEssentials, 50: auth0test.PlanEnterprise, 10: auth0test.PlanNonProduction}[limit]
	if plan == "" {
		return "", 0
	}
	rate, err := auth0test.PlanRate(plan)
	if err != nil {
		return "", 0
	}
	return plan, rate
}

// checkConnection: the connection exists and is a database connection.
func (d *doctorRun) checkConnection(ctx context.Context) {
	if d.a0 == nil {
		d.add("connection", checkSkip, "no Management API token", "")
		return
	}
	var conn auth0client.Connection
	err := paced(ctx, func() (err error) { conn, err = d.a0.Connection(ctx, d.connection); return err })
	var scopeErr *auth0client.ScopeError
	switch {
	case errors.As(err, &scopeErr):
		d.add("connection", checkWarn, "cannot read connections: the token lacks read:connections (mailproof itself does not need it)",
			"grant read:connections to let doctor check "+d.connection+", or check it in the dashboard: Authentication > Database")
	case errors.Is(err, auth0client.ErrPermanent):
		d.add("connection", checkFail, "no connection named "+d.connection, "create it (Authentication > Database) or name yours with --connection and MAILPROOF's provisioning --connection")
	case err != nil:
		d.add("connection", checkFail, errLine(err), "check the tenant's status")
	case conn.Strategy != "auth0":
		d.add("connection", checkFail, fmt.Sprintf("%s is a %s connection, not a database connection", d.connection, conn.Strategy),
			"provision users in a database connection: only a password login after a reset proves the mailbox")
	default:
		d.add("connection", checkOK, d.connection+" is a database connection", "")
	}
}

// checkAction: the post-login Action exists, is deployed, runs this binary's code and is
// bound to the trigger.
func (d *doctorRun) checkAction(ctx context.Context) {
	if d.a0 == nil {
		d.add("action", checkSkip, "no Management API token", "")
		return
	}
	var st auth0client.ActionState
	err := paced(ctx, func() (err error) { st, err = d.a0.ActionState(ctx, d.actionName, ""); return err })
	const deploy = "run 'mailproof action deploy --url https://<your receiver>'"
	switch {
	case err != nil:
		d.add("action", checkFail, errLine(err), "check the token's read:actions scope")
		return
	case st.ID == "":
		d.add("action", checkFail, "no Action named "+d.actionName, deploy)
		return
	case st.DeployedVersion == 0:
		d.add("action", checkFail, d.actionName+" exists but was never deployed", deploy)
		return
	}
	want, got := sha256.Sum256([]byte(deployaction.Code)), sha256.Sum256([]byte(st.DeployedCode))
	if want != got {
		d.add("action", checkFail, fmt.Sprintf("%s version %d runs other code than this binary's post-login.js", d.actionName, st.DeployedVersion),
			deploy+" with this binary, so the Action and the receiver agree")
	} else {
		d.add("action", checkOK, fmt.Sprintf("%s version %d is deployed and runs this binary's code", d.actionName, st.DeployedVersion), "")
	}
	if st.BoundAt == 0 {
		d.add("action binding", checkFail, d.actionName+" is not bound to "+auth0client.DefaultActionTrigger+": no login reaches mailproof", deploy+" (it binds the Action)")
	} else {
		d.add("action binding", checkOK, fmt.Sprintf("bound to %s, %d of %d", auth0client.DefaultActionTrigger, st.BoundAt, len(st.Bindings)), "")
	}
}

// checkSecret signs a self-test event with the configured secret and sends it through
// the public URL: the receiver there must accept it. Auth0 never returns an Action's
// secret values, so this checks what action deploy gives the Action: the same secret.
func (d *doctorRun) checkSecret(ctx context.Context) {
	var secret string
	for _, k := range d.cfg.WebhookSecrets {
		if strings.HasPrefix(k, "whsec_") || strings.HasPrefix(k, "whsk_") {
			secret = k
			break
		}
	}
	switch {
	case secret == "":
		d.add("webhook secret", checkFail, "MAILPROOF_WEBHOOK_SECRETS holds no secret that can sign", "set it to the whsec_ secret action deploy gave the Action")
		return
	case d.url == "":
		d.add("webhook secret", checkSkip, "no --url: give the receiver's public URL to send a signed self-test event through it", "")
		return
	}
	status, outcome, err := sendSelfTest(ctx, d.url+handlers.PostLoginPath, secret)
	switch {
	case err != nil:
		d.add("webhook secret", checkFail, "no answer from "+d.url+": "+errLine(err), "check the URL, DNS, TLS and that serve runs behind it")
	case status == http.StatusUnauthorized:
		d.add("webhook secret", checkFail, fmt.Sprintf("%s refused the signature (%s)", d.url, outcome),
			"the receiver there has other MAILPROOF_WEBHOOK_SECRETS than this shell; make them the same, then run 'mailproof action deploy' so the Action signs with it")
	case status != http.StatusOK:
		d.add("webhook secret", checkFail, fmt.Sprintf("%s answered %d (%s)", d.url, status, outcome), "look at the receiver's log for this request")
	default:
		d.add("webhook secret", checkOK, fmt.Sprintf("%s accepts events signed with the configured secret (answer: %s)", d.url, outcome), "")
	}
}

// selfTestUser is the user of doctor's self-test event: nobody, so nothing is queued.
const selfTestUser = "auth0|mailproof-doctor-self-test"

// sendSelfTest posts a signed post-login event for a user nobody has: the receiver
// verifies it and answers not_pending, changing nothing but its replay guard.
func sendSelfTest(ctx context.Context, url, secret string) (int, string, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ev event.PostLogin
	ev.Type = "auth0.post_login"
	ev.Timestamp = now
	ev.Data.Connection = event.Connection{Name: defaultConnection(), Strategy: "auth0"}
	ev.Data.Authentication.Methods = []event.AuthMethod{{Name: "pwd", Timestamp: now}}
	ev.Data.User = event.User{UserID: selfTestUser, Email: "doctor@mailproof.invalid"}
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, "", err
	}
	id := webhook.NewMessageID()
	req, err := webhook.NewRequest(ctx, url, secret, id, now, body)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	// {"status":"ignored","reason":"not_pending"}, or {"error":{"code","message"}}.
	var answer struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &answer)
	return resp.StatusCode, strings.TrimSpace(answer.Status + " " + answer.Reason + " " + answer.Error.Code), nil
}

// redisVersion reads redis_version from INFO server.
func redisVersion(ctx context.Context, rdb *store.Redis) (string, error) {
	info, err := rdb.Client().Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", errors.New("INFO server has no redis_version")
}

// versionAtLeast compares a dotted version's major and minor numbers.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// errLine keeps a multi-line error on one checklist line, control characters quoted.
func errLine(err error) string { return oneLine(strings.Join(strings.Fields(err.Error()), " ")) }
