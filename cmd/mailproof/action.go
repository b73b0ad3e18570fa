package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	deployaction "github.com/mailproof/mailproof/deploy/action"
	"github.com/mailproof/mailproof/handlers"
)

const actionUsage = `Usage:
  mailproof action deploy --url URL [flags]   create or update the post-login Action, set its
                                              secrets, deploy it and bind it to the post-login trigger

Run 'mailproof action deploy -h' for its flags. deploy/action/INSTALL.md walks through it.`

const actionDeployUsage = `Usage:
  mailproof action deploy --url https://mailproof.example.com [--secret-file F] [--timeout-ms N]
                          [--name NAME] [--dry-run] [--force]

Creates the post-login Action in the tenant (or updates the one named --name), sets
its secrets (the receiver's URL and the signing secret), waits for Auth0 to build it,
deploys it and binds it to the post-login trigger after the Actions already there.
When the deployed version already runs this code with these secrets and is bound, it
deploys nothing and says "unchanged"; --force deploys a new version anyway.
It needs the MAILPROOF_AUTH0_* credentials; --dry-run prints the plan (and the tenant's
current state when they are set) and changes nothing, and needs neither them nor the
signing secret. The signing secret is --secret-file, or else the first whsec_ entry of
MAILPROOF_WEBHOOK_SECRETS. deploy/action/INSTALL.md walks through it.`

// actionSettings are the variables action deploy reads: the tenant's credentials and
// the receivers' keys, which the Action's secret must match.
var actionSettings = []string{
	"MAILPROOF_AUTH0_DOMAIN", "MAILPROOF_AUTH0_CLIENT_ID", "MAILPROOF_AUTH0_CLIENT_SECRET",
	"MAILPROOF_AUTH0_CA_FILE", "MAILPROOF_WEBHOOK_SECRETS",
}

// postLoginPath is where the receiver takes the Action's events.
const postLoginPath = handlers.PostLoginPath

// deployDeadline bounds a whole deploy: Auth0 builds an Action in seconds, and a build
// stuck in "pending" must not hang the command forever.
const deployDeadline = 3 * time.Minute

// The Action's timeout bounds, as post-login.js clamps them: refusing a value here beats
// having it silently changed there.
const (
	minActionTimeoutMS = 100
	maxActionTimeoutMS = 5000
)

// actionGroup is `mailproof action SUBCOMMAND`.
func actionGroup() command {
	return command{name: "action", synopsis: "action deploy", summary: "create or update the post-login Action in the tenant and bind it",
		usage: actionUsage, subs: []command{{name: "deploy", run: actionDeploy}}}
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
	// noSecret says why there is no signing secret, which only a dry run does without.
	noSecret string
}

func actionDeploy(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("action deploy", actionDeployUsage, actionSettings, stdout, stderr)
	fs.optionalEnv = true // --dry-run does without the credentials, --secret-file without the keys
	base := fs.String("url", "", "public base URL of the mailproof receiver, https:// (http:// only for loopback); "+postLoginPath+" is appended")
	secretFile := fs.String("secret-file", "", "file holding the Action's signing secret (whsec_… or whsk_…); default: the first whsec_ entry of MAILPROOF_WEBHOOK_SECRETS")
	timeoutMS := fs.Int("timeout-ms", 0, fmt.Sprintf("the Action's HTTP timeout in milliseconds, %d to %d; 0 keeps the Action's default (2000)", minActionTimeoutMS, maxActionTimeoutMS))
	name := fs.String("name", "mailproof-post-login", "name of the Action in the tenant; an existing Action with this name is updated")
	dryRun := fs.Bool("dry-run", false, "print the plan, read the tenant's current state if credentials are set, change nothing")
	force := fs.Bool("force", false, "deploy a new version even when the deployed one already runs this code with these secrets")
	if help, err := fs.parse(args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fs.fail("unexpected argument %q", fs.Arg(0))
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
	ctx, cancel := context.WithTimeout(ctx, deployDeadline)
	defer cancel()
	spec := p.spec()
	st, err := client.ActionState(ctx, p.name, auth0client.DefaultActionTrigger)
	if err != nil {
		return fmt.Errorf("action deploy: read the tenant: %w", err)
	}
	switch drift := st.Drift(spec); {
	case drift.None() && !*force:
		fmt.Fprintf(stdout, "  deployed version %d runs this code with these secrets and is bound to %s (position %d of %d)\n",
			st.DeployedVersion, auth0client.DefaultActionTrigger, st.BoundAt, len(st.Bindings))
		fmt.Fprintln(stdout, "unchanged: nothing deployed (--force deploys a new version anyway)")
		return nil
	case drift.None():
		fmt.Fprintf(stdout, "  deployed version %d is unchanged; --force: deploying a new version anyway\n", st.DeployedVersion)
	case st.ID != "":
		fmt.Fprintf(stdout, "  changes   %s\n", strings.Join(drift.Reasons(), "; "))
	}
	fmt.Fprintf(stdout, "steps: find %q by name, create or update it, wait for Auth0 to build it, deploy, bind to %s\n",
		p.name, auth0client.DefaultActionTrigger)
	d, err := client.DeployAction(ctx, spec)
	if errors.Is(err, auth0client.ErrActionBuildFailed) {
		// The code is this binary's own post-login.js: a failed build says
		// more about the runtime or the tenant than about the code.
		return fmt.Errorf("action deploy: nothing was deployed and the bindings are unchanged: %w\n"+
			"The code is this binary's post-login.js on runtime %s: once the build errors are dealt with, run action deploy again.",
			err, auth0client.DefaultActionRuntime)
	}
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

// spec is the Action the plan deploys. Its secrets carry a fingerprint of their own
// values (see secretsFingerprint), unless the plan has no signing secret (a dry run).
func (p deployPlan) spec() auth0client.ActionSpec {
	secrets := map[string]string{"MAILPROOF_URL": p.url, "MAILPROOF_SECRET": p.secret}
	if p.timeoutMS > 0 {
		secrets["MAILPROOF_TIMEOUT_MS"] = strconv.Itoa(p.timeoutMS)
	}
	if p.secret != "" {
		fp := secretsFingerprint(secrets)
		secrets[actionFingerprintPrefix+fp] = fp
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

// actionFingerprintPrefix begins the name of the secret that fingerprints the others.
//
// Auth0 never returns an Action's secret values, so whether the deployed secrets are the
// ones a deploy would set cannot be read back; their updated_at only says when they were
// last written, not what with. A name can be read back: deploy adds a secret named
// MAILPROOF_SECRETS_SHA256_<fingerprint of the other secrets' values>, which the Action
// never reads. Equal names then mean equal values, and a changed secret, URL or timeout
// changes the name and so the comparison. A value changed in the Dashboard by hand is
// not seen: --force redeploys.
const actionFingerprintPrefix = "MAILPROOF_SECRETS_SHA256_"

// secretsFingerprint is the first 128 bits, in hex, of a SHA-256 over the secrets' names
// and values in name order. It shows in the tenant to whoever can read the Action; the
// signing key it covers is random key material (24 bytes at least, 32 from keygen), so
// it cannot be guessed back from it.
func secretsFingerprint(secrets map[string]string) string {
	h := sha256.New()
	h.Write([]byte("mailproof action secrets v1\x00"))
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		if strings.HasPrefix(name, actionFingerprintPrefix) {
			continue
		}
		fmt.Fprintf(h, "%s\x00%s\x00", name, secrets[name])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
