package auth0client

import (
	"context"
	"fmt"

	"github.com/auth0/go-auth0/management"
)

// ActionState is the part of the tenant DeployAction would touch, as it is
// now: enough for a dry run to say what a deploy would change.
type ActionState struct {
	// ID is the Action's id, empty when no Action has the name.
	ID string
	// DeployedVersion is the number of the live version, 0 when the Action
	// was never deployed; DeployedCode is that version's code.
	DeployedVersion int
	DeployedCode    string
	// AllChangesDeployed is false while the Action's draft holds changes
	// its deployed version lacks; when true, the draft's Runtime, Triggers
	// and Secrets are the deployed version's too.
	AllChangesDeployed bool
	// Runtime is the draft's runtime; Triggers are the triggers it
	// supports, each as "ID VERSION" ("post-login v3").
	Runtime  string
	Triggers []string
	// Secrets are the Action's secret names. Auth0 never returns the
	// values, and neither does this.
	Secrets []string
	// Bindings are the Actions the trigger runs, in order, each by its
	// Action's name (the binding's display name when the name is missing).
	Bindings []string
	// BoundAt is the 1-based position of this Action among Bindings, 0
	// when the trigger does not run it.
	BoundAt int
}

// ActionState reads, with GETs only, the Action called name and the
// bindings of trigger (DefaultActionTrigger when empty). It changes nothing
// in the tenant. Errors match the sentinels as DeployAction's do.
func (c *Client) ActionState(ctx context.Context, name, trigger string) (ActionState, error) {
	if name == "" {
		return ActionState{}, fmt.Errorf("read action state: %w: name is required", ErrPermanent)
	}
	if trigger == "" {
		trigger = DefaultActionTrigger
	}
	m := c.m.Load()

	lctx, ex := withExchange(ctx)
	list, err := m.Action.List(lctx, management.Parameter("actionName", name))
	if err != nil {
		return ActionState{}, fmt.Errorf("read action %q: %w", name, c.classify(m, err, ex, ErrPermanent))
	}
	var st ActionState
	for _, a := range list.Actions {
		// actionName filters loosely; DeployAction updates only an exact
		// match, so only an exact match is the Action it would touch.
		if a.GetName() != name {
			continue
		}
		st.ID = a.GetID()
		if v := a.GetDeployedVersion(); v != nil {
			st.DeployedVersion, st.DeployedCode = v.Number, v.GetCode()
		}
		st.AllChangesDeployed, st.Runtime = a.AllChangesDeployed, a.GetRuntime()
		for _, tr := range a.SupportedTriggers {
			st.Triggers = append(st.Triggers, tr.GetID()+" "+tr.GetVersion())
		}
		for _, s := range a.GetSecrets() {
			st.Secrets = append(st.Secrets, s.GetName())
		}
		break
	}

	bctx, ex := withExchange(ctx)
	bl, err := m.Action.Bindings(bctx, trigger)
	if err != nil {
		return ActionState{}, fmt.Errorf("read %s bindings: %w", trigger, c.classify(m, err, ex, ErrPermanent))
	}
	for i, b := range bl.Bindings {
		n := b.GetAction().GetName()
		if n == "" {
			n = b.GetDisplayName()
		}
		st.Bindings = append(st.Bindings, n)
		if st.ID != "" && b.GetAction().GetID() == st.ID {
			st.BoundAt = i + 1
		}
	}
	return st, nil
}
