package main

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mailproof/mailproof/auth0client"
)

// TestActionDeployBuildFails: when Auth0 fails to build the Action the
// command says so, names Auth0's status and where its errors are, and
// leaves the live version and the bindings as they were; the next run
// deploys.
func TestActionDeployBuildFails(t *testing.T) {
	tenant := actionTenant(t)
	bindOther(t, tenant, "acme-risk-check")
	env := actionEnv(tenant, newHMACSecret(t))
	args := []string{"deploy", "--url", "https://mailproof.example.com"}
	runs := []struct {
		name        string
		failBuild   bool
		force       bool // the code and secrets are unchanged: only --force builds again
		wantErr     []string
		wantVersion int
		wantBound   []string
	}{
		{name: "first build fails", failBuild: true,
			wantErr: []string{`deploy action "mailproof-post-login"`, `Auth0 reports build status "failed"`,
				"no version of it is deployed", "nothing was deployed", "Auth0 Dashboard (Actions > Library)"},
			wantBound: []string{"acme-risk-check"}},
		{name: "next run deploys", wantVersion: 1, wantBound: []string{"acme-risk-check", ourAction}},
		{name: "update's build fails", failBuild: true, force: true,
			wantErr:     []string{`build status "failed"`, "version 1 stays deployed", "bindings are unchanged"},
			wantVersion: 1, wantBound: []string{"acme-risk-check", ourAction}},
	}
	for _, run := range runs {
		if run.failBuild {
			tenant.FailNextBuild()
		}
		deploys := tenant.CountCalls(http.MethodPost, "/api/v2/actions/actions/")
		runArgs := slices.Clone(args)
		if run.force {
			runArgs = append(runArgs, "--force")
		}
		_, stderr, err := runAction(t, env, runArgs...)
		if (err != nil) != (len(run.wantErr) > 0) {
			t.Fatalf("%s: error %v, want one: %t\nstderr: %s", run.name, err, len(run.wantErr) > 0, stderr)
		}
		for _, want := range run.wantErr {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", run.name, err, want)
			}
		}
		if err != nil {
			if !errors.Is(err, auth0client.ErrActionBuildFailed) {
				t.Errorf("%s: %v does not match ErrActionBuildFailed", run.name, err)
			}
			if n := tenant.CountCalls(http.MethodPost, "/api/v2/actions/actions/") - deploys; n != 0 {
				t.Errorf("%s: %d deploy calls after the failed build, want none", run.name, n)
			}
		}
		a, _ := tenant.Action(ourAction)
		if a.DeployedVersion != run.wantVersion {
			t.Errorf("%s: deployed version %d, want %d", run.name, a.DeployedVersion, run.wantVersion)
		}
		if got := tenant.Bindings("post-login"); !slices.Equal(got, run.wantBound) {
			t.Errorf("%s: bindings %v, want %v", run.name, got, run.wantBound)
		}
	}
}
