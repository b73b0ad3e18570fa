package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mailproof/mailproof/auth0client"
	deployaction "github.com/mailproof/mailproof/deploy/action"
)

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
	if p.secret != "" {
		names += ", " + actionFingerprintPrefix + "… (a fingerprint of their values, which the Action never reads)"
	}
	signing := "key " + p.keyID
	if p.noSecret != "" {
		signing = "not set: a real deploy needs it (" + p.noSecret + ")"
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
	fmt.Fprintf(w, "  signing   %s\n", signing)
	fmt.Fprintf(w, "  timeout   %s\n", timeout)
}

// dryRunDeploy prints the plan and, when credentials are set, what the tenant holds now
// and what a deploy would change there. It sends no write.
func dryRunDeploy(ctx context.Context, p deployPlan, w io.Writer) error {
	printPlan(w, p, "Dry run: would deploy")
	trigger := auth0client.DefaultActionTrigger
	if len(p.missing) > 0 {
		fmt.Fprintf(w, "tenant not read: %s\n", strings.Join(p.missing, "; "))
		fmt.Fprintf(w, "a deploy would: update the Action named %q or create it, wait for the build, deploy a new version, and bind it to %s after the Actions bound there unless it is bound already; it deploys nothing when the deployed version already runs this code with these secrets and is bound\n", p.name, trigger)
		fmt.Fprintln(w, "nothing changed (dry run)")
		return nil
	}
	client, err := auth0client.New(ctx, p.auth0)
	if err != nil {
		return fmt.Errorf("action deploy --dry-run: %w", err)
	}
	st, err := client.ActionState(ctx, p.name, trigger)
	if err != nil {
		return fmt.Errorf("action deploy --dry-run: read the tenant: %w", err)
	}
	drift := st.Drift(p.spec())
	if p.noSecret != "" {
		// Without the signing secret the secrets to set are unknown: not compared.
		drift.SecretNames = false
	}
	code := "differs from"
	if st.DeployedCode == deployaction.Code {
		code = "is the same as"
	}
	switch {
	case st.ID == "":
		fmt.Fprintln(w, "  action    absent: would create it, wait for the build, deploy version 1")
	case st.DeployedVersion == 0:
		fmt.Fprintf(w, "  action    exists (id %s), never deployed: would update it, wait for the build, deploy it\n", st.ID)
	case drift.None() && p.noSecret != "":
		fmt.Fprintf(w, "  action    exists (id %s); deployed version %d %s this code and is otherwise unchanged: a deploy with the same secrets would deploy nothing\n",
			st.ID, st.DeployedVersion, code)
	case drift.None():
		fmt.Fprintf(w, "  action    exists (id %s); deployed version %d %s this code, with these secrets: unchanged, a deploy would deploy nothing (--force would deploy a new version)\n",
			st.ID, st.DeployedVersion, code)
	default:
		fmt.Fprintf(w, "  action    exists (id %s); deployed version %d %s this code: would update it, wait for the build, deploy a new version\n",
			st.ID, st.DeployedVersion, code)
		fmt.Fprintf(w, "  changes   %s\n", strings.Join(drift.Reasons(), "; "))
	}
	if p.noSecret != "" {
		fmt.Fprintln(w, "  secrets   not compared: the signing secret is not set")
	}
	var dropped []string
	for _, n := range st.Secrets {
		// An earlier fingerprint is replaced, not a stray secret removed.
		if _, ok := p.spec().Secrets[n]; !ok && !strings.HasPrefix(n, actionFingerprintPrefix) {
			dropped = append(dropped, n)
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "  secrets   would remove %s from the Action\n", strings.Join(dropped, ", "))
	}
	fmt.Fprintf(w, "  bindings  %s now: %s\n", trigger, orderedList(st.Bindings))
	if st.BoundAt > 0 {
		fmt.Fprintf(w, "  bindings  unchanged: %s is already bound (position %d of %d)\n", p.name, st.BoundAt, len(st.Bindings))
	} else {
		fmt.Fprintf(w, "  bindings  after: %s (%s appended; the others keep their order)\n", orderedList(append(st.Bindings, p.name)), p.name)
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
