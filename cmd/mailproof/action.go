package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/oauth2"

	"github.com/mailproof/mailproof/auth0client"
	deployaction "github.com/mailproof/mailproof/deploy/action"
	"github.com/mailproof/mailproof/handlers"
)

const actionUsage = `Usage:
  mailproof action deploy --url URL [flags]   create or update the post-login Action, set its
                                              secrets, deploy it and bind it to the post-login trigger

Run 'mailproof action deploy -h' for its flags. deploy/action/INSTALL.md walks through it.`

// postLoginPath is where the receiver takes the Action's events.
const postLoginPath = "/v1/events/post-login"

// deployDeadline bounds a whole deploy: Auth0 builds an Action in seconds, and a build
// stuck in "pending" must not hang the command forever.
const deployDeadline = 3 * time.Minute

// The Action's timeout bounds, as post-login.js clamps them: refusing a value here beats
// having it silently changed there.
const (
	minActionTimeoutMS = 100
	maxActionTimeoutMS = 5000
)

// action dispatches `mailproof action SUBCOMMAND`.
func action(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, actionUsage)
		return errUsage
	}
	switch args[0] {
	case "deploy":
		return actionDeploy(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, actionUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown action command %q\n\n%s\n", args[0], actionUsage)
	return errUsage
}

// deployPlan is everything a deploy sends, resolved and checked before any call.
type deployPlan struct {
	name      string
	url       string // the Action's MAILPROOF_URL: the receiver's full event URL
	secret    string // the Action's MAILPROOF_SECRET; never printed
	keyID     string // the secret's public name, as the receiver's metrics label it
	timeoutMS int    // 0 leaves MAILPROOF_TIMEOUT_MS unset: the Action's default
	auth0     auth0client.Config
	// missing names the unset Auth0 variables; a dry run without them plans offline.
	missing []string
}

func actionDeploy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("action deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "public base URL of the mailproof receiver, https:// (http:// only for loopback); "+postLoginPath+" is appended")
	secretFile := fs.String("secret-file", "", "file holding the Action's signing secret (whsec_… or whsk_…); default: the first whsec_ entry of MAILPROOF_WEBHOOK_SECRETS")
	timeoutMS := fs.Int("timeout-ms", 0, fmt.Sprintf("the Action's HTTP timeout in milliseconds, %d to %d; 0 keeps the Action's default (2000)", minActionTimeoutMS, maxActionTimeoutMS))
	name := fs.String("name", "mailproof-post-login", "name of the Action in the tenant; an existing Action with this name is updated")
	dryRun := fs.Bool("dry-run", false, "print the plan, read the tenant's current state if credentials are set, change nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mailproof action deploy --url https://mailproof.example.com [--secret-file F] [--timeout-ms N] [--name NAME] [--dry-run]")
		fmt.Fprintln(stderr, "Auth0 credentials come from MAILPROOF_AUTH0_DOMAIN, MAILPROOF_AUTH0_CLIENT_ID, MAILPROOF_AUTH0_CLIENT_SECRET[_FILE], MAILPROOF_AUTH0_CA_FILE.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}

	p, warnings, err := loadDeployPlan(*base, *secretFile, *timeoutMS, *name, *dryRun, getenv)
	if err != nil {
		return fmt.Errorf("action deploy: configuration:\n%w", err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *dryRun {
		return dryRunDeploy(ctx, p, stdout)
	}

	printPlan(stdout, p, "Deploying")
	client, err := auth0client.New(ctx, p.auth0)
	if err != nil {
		return fmt.Errorf("action deploy: %w", err)
	}
	fmt.Fprintf(stdout, "steps: find %q by name, create or update it, wait for Auth0 to build it, deploy, bind to %s\n",
		p.name, auth0client.DefaultActionTrigger)
	ctx, cancel := context.WithTimeout(ctx, deployDeadline)
	defer cancel()
	d, err := client.DeployAction(ctx, p.spec())
	if err != nil {
		return fmt.Errorf("action deploy: %w", err)
	}
	verb := "updated"
	if d.Created {
		verb = "created"
	}
	fmt.Fprintf(stdout, "  %s Action %s (id %s)\n", verb, p.name, d.ActionID)
	fmt.Fprintf(stdout, "  built and deployed version %d\n", d.Version)
	if d.Bound {
		fmt.Fprintf(stdout, "  bound to %s, after the Actions already bound there\n", auth0client.DefaultActionTrigger)
	} else {
		fmt.Fprintf(stdout, "  already bound to %s; bindings left unchanged\n", auth0client.DefaultActionTrigger)
	}
	fmt.Fprintf(stdout, "done: %s version %d is live. Verify with a test login (deploy/action/INSTALL.md).\n", p.name, d.Version)
	return nil
}

func (p deployPlan) spec() auth0client.ActionSpec {
	secrets := map[string]string{"MAILPROOF_URL": p.url, "MAILPROOF_SECRET": p.secret}
	if p.timeoutMS > 0 {
		secrets["MAILPROOF_TIMEOUT_MS"] = strconv.Itoa(p.timeoutMS)
	}
	return auth0client.ActionSpec{
		Name:           p.name,
		Code:           deployaction.Code,
		Runtime:        auth0client.DefaultActionRuntime,
		Trigger:        auth0client.DefaultActionTrigger,
		TriggerVersion: auth0client.DefaultActionTriggerVersion,
		Secrets:        secrets,
	}
}

// loadDeployPlan reads the flags and the few variables a deploy needs (not the whole
// serve configuration, which demands Redis) and reports every problem at once. A dry run
// can do without Auth0 credentials: it notes them in plan.missing and plans offline.
func loadDeployPlan(base, secretFile string, timeoutMS int, name string, dryRun bool, getenv func(string) string) (deployPlan, []string, error) {
	var errs []error
	p := deployPlan{name: strings.TrimSpace(name), timeoutMS: timeoutMS}
	if p.name == "" {
		errs = append(errs, errors.New("--name is empty"))
	}
	if timeoutMS != 0 && (timeoutMS < minActionTimeoutMS || timeoutMS > maxActionTimeoutMS) {
		errs = append(errs, fmt.Errorf("--timeout-ms %d is outside %d to %d", timeoutMS, minActionTimeoutMS, maxActionTimeoutMS))
	}
	u, err := receiverURL(base)
	if err != nil {
		errs = append(errs, err)
	}
	p.url = u
	var warnings []string
	if pu, err := url.Parse(u); err == nil && isLoopback(pu.Hostname()) {
		warnings = append(warnings, "--url is a loopback address: Auth0 cannot reach it (fine against the tenant emulator)")
	}

	for _, v := range []struct {
		name   string
		secret bool
		dst    *string
	}{
		{"MAILPROOF_AUTH0_DOMAIN", false, &p.auth0.Domain},
		{"MAILPROOF_AUTH0_CLIENT_ID", false, &p.auth0.ClientID},
		{"MAILPROOF_AUTH0_CLIENT_SECRET", true, &p.auth0.ClientSecret},
	} {
		val, err := envValue(getenv, v.name, v.secret)
		switch {
		case err != nil:
			errs = append(errs, err)
		case val == "" && v.secret:
			p.missing = append(p.missing, v.name+" (or "+v.name+"_FILE) is not set")
		case val == "":
			p.missing = append(p.missing, v.name+" is not set")
		}
		*v.dst = val
	}
	p.auth0.CAFile = strings.TrimSpace(getenv("MAILPROOF_AUTH0_CA_FILE"))

	receiverKeys, err := envValue(getenv, "MAILPROOF_WEBHOOK_SECRETS", true)
	if err != nil {
		errs = append(errs, err)
	}
	var keyWarnings []string
	p.secret, p.keyID, keyWarnings, err = actionSecret(secretFile, receiverKeys)
	warnings = append(warnings, keyWarnings...)
	if err != nil {
		errs = append(errs, err)
	}
	if !dryRun {
		for _, m := range p.missing {
			errs = append(errs, errors.New(m))
		}
	}
	return p, warnings, errors.Join(errs...)
}

// receiverURL turns --url into the Action's MAILPROOF_URL. Plain http is refused unless
// the host is loopback: the events carry user ids and emails, and their signatures only
// prove origin, not privacy.
func receiverURL(base string) (string, error) {
	base = strings.TrimSpace(base)
	if base == "" {
		return "", errors.New("--url is required: the public base URL of the mailproof receiver, e.g. https://mailproof.example.com")
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.Opaque != "" {
		// Not quoted: an unparsable URL might hold a password.
		return "", errors.New("--url: want an absolute URL such as https://mailproof.example.com")
	}
	switch {
	case u.User != nil:
		return "", errors.New("--url must not carry credentials: the receiver authenticates events by their signature")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(base, "?") || strings.HasSuffix(base, "#"):
		return "", fmt.Errorf("--url %q: want a base URL without a query or fragment", base)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("--url %q: must use https:// (plain http:// is allowed only for a loopback host): Auth0 would send user ids and emails in the clear", base)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("--url %q: want https://", base)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if !strings.HasSuffix(u.Path, postLoginPath) {
		u.Path += postLoginPath
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// actionSecret picks the key the Action signs with and its public id: --secret-file,
// else the first whsec_ entry the receiver is configured with. A whpk_ public key cannot
// sign, so a receiver that only knows public keys needs the matching whsk_ private key in
// a file. Errors never quote a key.
func actionSecret(secretFile, receiverKeys string) (secret, keyID string, warnings []string, err error) {
	var configured []string
	for _, s := range strings.Split(receiverKeys, ",") {
		if s = strings.TrimSpace(s); s != "" {
			configured = append(configured, s)
		}
	}
	if secretFile == "" {
		if len(configured) == 0 {
			return "", "", nil, errors.New("MAILPROOF_WEBHOOK_SECRETS (or MAILPROOF_WEBHOOK_SECRETS_FILE) is not set, and no --secret-file was given: the Action needs a signing secret")
		}
		for i, s := range configured {
			if strings.HasPrefix(s, "whsec_") {
				k, err := handlers.ParseKey(s)
				if err != nil {
					return "", "", nil, fmt.Errorf("MAILPROOF_WEBHOOK_SECRETS entry %d: %w", i+1, err)
				}
				return s, k.ID(), nil, nil
			}
		}
		return "", "", nil, errors.New("MAILPROOF_WEBHOOK_SECRETS holds no whsec_ secret (whpk_ public keys cannot sign): pass --secret-file with the matching whsk_ private key")
	}

	b, err := os.ReadFile(secretFile)
	if err != nil {
		return "", "", nil, fmt.Errorf("--secret-file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	k, err := handlers.ParseKey(s)
	switch {
	case err != nil:
		return "", "", nil, fmt.Errorf("--secret-file %s: %w", secretFile, err)
	case !strings.HasPrefix(s, "whsec_") && !strings.HasPrefix(s, "whsk_"):
		return "", "", nil, fmt.Errorf("--secret-file %s holds a whpk_ public key: the Action signs, give it the whsk_ private key", secretFile)
	}
	// Rotation goes receivers first: warn when this environment's receivers would not
	// accept the key (a whsk_ key has the id of its whpk_ half).
	if len(configured) > 0 {
		for _, c := range configured {
			if ck, err := handlers.ParseKey(c); err == nil && ck.ID() == k.ID() {
				return s, k.ID(), nil, nil
			}
		}
		warnings = append(warnings, fmt.Sprintf("key %s is not in MAILPROOF_WEBHOOK_SECRETS: add it on every receiver before deploying, or they will reject every event (logins go on, nothing gets verified)", k.ID()))
	}
	return s, k.ID(), warnings, nil
}

// envValue reads name or, for a secret, name_FILE the way serve does; both set is
// ambiguous and refused.
func envValue(getenv func(string) string, name string, secret bool) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if !secret {
		return v, nil
	}
	file := strings.TrimSpace(getenv(name + "_FILE"))
	if file == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set; keep one", name, name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	if v = strings.TrimSpace(string(b)); v == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
	}
	return v, nil
}

// printPlan shows what will be sent. Secret names appear, values never: the signing key
// shows only as its id, the one mailproof_signature_key_matches_total{key_id} uses.
func printPlan(w io.Writer, p deployPlan, heading string) {
	sum := sha256.Sum256([]byte(deployaction.Code))
	tenant := p.auth0.Domain
	if tenant == "" {
		tenant = "(MAILPROOF_AUTH0_DOMAIN not set)"
	}
	names := "MAILPROOF_URL, MAILPROOF_SECRET"
	if p.timeoutMS > 0 {
		names += ", MAILPROOF_TIMEOUT_MS"
	}
	timeout := "the Action's default (2000 ms)"
	if p.timeoutMS > 0 {
		timeout = strconv.Itoa(p.timeoutMS) + " ms"
	}
	fmt.Fprintf(w, "%s Action %q to tenant %s\n", heading, p.name, tenant)
	fmt.Fprintf(w, "  runtime   %s\n", auth0client.DefaultActionRuntime)
	fmt.Fprintf(w, "  trigger   %s %s\n", auth0client.DefaultActionTrigger, auth0client.DefaultActionTriggerVersion)
	fmt.Fprintf(w, "  code      post-login.js, %d bytes, sha256 %s\n", len(deployaction.Code), hex.EncodeToString(sum[:]))
	fmt.Fprintf(w, "  secrets   %s (the complete list: other secrets on the Action are removed)\n", names)
	fmt.Fprintf(w, "  target    %s\n", p.url)
	fmt.Fprintf(w, "  signing   key %s\n", p.keyID)
	fmt.Fprintf(w, "  timeout   %s\n", timeout)
}

// dryRunDeploy prints the plan and, when credentials are set, what the tenant holds now
// and what a deploy would change there. It sends no write.
func dryRunDeploy(ctx context.Context, p deployPlan, w io.Writer) error {
	printPlan(w, p, "Dry run: would deploy")
	trigger := auth0client.DefaultActionTrigger
	if len(p.missing) > 0 {
		fmt.Fprintf(w, "tenant not read: %s\n", strings.Join(p.missing, "; "))
		fmt.Fprintf(w, "a deploy would: update the Action named %q or create it, wait for the build, deploy a new version, and bind it to %s after the Actions bound there unless it is bound already\n", p.name, trigger)
		fmt.Fprintln(w, "nothing changed (dry run)")
		return nil
	}
	st, err := readActionState(ctx, p.auth0, p.name, trigger)
	if err != nil {
		return fmt.Errorf("action deploy --dry-run: read the tenant: %w", err)
	}
	switch {
	case st.id == "":
		fmt.Fprintln(w, "  action    absent: would create it, wait for the build, deploy version 1")
	case st.deployedVersion == 0:
		fmt.Fprintf(w, "  action    exists (id %s), never deployed: would update it, wait for the build, deploy it\n", st.id)
	default:
		code := "differs from"
		if st.deployedCode == deployaction.Code {
			code = "is the same as"
		}
		fmt.Fprintf(w, "  action    exists (id %s); deployed version %d %s this code: would update it, wait for the build, deploy a new version\n",
			st.id, st.deployedVersion, code)
	}
	var dropped []string
	for _, n := range st.secrets {
		if _, ok := p.spec().Secrets[n]; !ok {
			dropped = append(dropped, n)
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "  secrets   would remove %s from the Action\n", strings.Join(dropped, ", "))
	}
	fmt.Fprintf(w, "  bindings  %s now: %s\n", trigger, orderedList(st.bindings))
	if st.boundAt > 0 {
		fmt.Fprintf(w, "  bindings  unchanged: %s is already bound (position %d of %d)\n", p.name, st.boundAt, len(st.bindings))
	} else {
		fmt.Fprintf(w, "  bindings  after: %s (%s appended; the others keep their order)\n", orderedList(append(st.bindings, p.name)), p.name)
	}
	fmt.Fprintln(w, "nothing changed (dry run)")
	return nil
}

func orderedList(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d. %s", i+1, n)
	}
	return b.String()
}

// actionState is the part of the tenant a deploy would touch.
type actionState struct {
	id              string // empty when no Action has the name
	deployedVersion int
	deployedCode    string
	secrets         []string // names only: the API never returns values
	bindings        []string // the trigger's Actions by name, in order
	boundAt         int      // 1-based position of ours among bindings; 0 when unbound
}

// readActionState reads with GETs only. auth0client offers no read-only Action call, so
// this drives the SDK directly, set up the way auth0client sets it up: the extra CA, the
// token fetched through the same timed client, no retries.
func readActionState(ctx context.Context, cfg auth0client.Config, name, trigger string) (actionState, error) {
	roots, err := extraRoots(cfg.CAFile)
	if err != nil {
		return actionState{}, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	hc := &http.Client{Transport: tr, Timeout: auth0client.DefaultTimeout}
	domain := strings.TrimSuffix(cfg.Domain, "/")
	if i := strings.Index(domain, "//"); i >= 0 {
		domain = domain[i+2:]
	}
	m, err := management.New(domain,
		management.WithClientCredentials(context.WithValue(ctx, oauth2.HTTPClient, hc), cfg.ClientID, cfg.ClientSecret),
		management.WithClient(hc),
		management.WithNoRetries(),
		management.WithUserAgent(auth0client.DefaultUserAgent),
	)
	if err != nil {
		return actionState{}, err
	}
	list, err := m.Action.List(ctx, management.Parameter("actionName", name))
	if err != nil {
		return actionState{}, fmt.Errorf("list actions: %w", err)
	}
	var st actionState
	for _, a := range list.Actions {
		if a.GetName() != name {
			continue
		}
		st.id = a.GetID()
		if v := a.GetDeployedVersion(); v != nil {
			st.deployedVersion, st.deployedCode = v.Number, v.GetCode()
		}
		for _, s := range a.GetSecrets() {
			st.secrets = append(st.secrets, s.GetName())
		}
	}
	bl, err := m.Action.Bindings(ctx, trigger)
	if err != nil {
		return actionState{}, fmt.Errorf("read %s bindings: %w", trigger, err)
	}
	for i, b := range bl.Bindings {
		n := b.GetAction().GetName()
		if n == "" {
			n = b.GetDisplayName()
		}
		st.bindings = append(st.bindings, n)
		if st.id != "" && b.GetAction().GetID() == st.id {
			st.boundAt = i + 1
		}
	}
	return st, nil
}

// extraRoots is the system pool plus caFile's certificates; nil (the system pool) when
// caFile is empty.
func extraRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("MAILPROOF_AUTH0_CA_FILE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("MAILPROOF_AUTH0_CA_FILE %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}
