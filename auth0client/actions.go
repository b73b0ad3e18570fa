package auth0client

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// Action defaults: Auth0's recommended runtime and the post-login trigger
// version current Actions use.
const (
	DefaultActionRuntime        = "node22"
	DefaultActionTrigger        = "post-login"
	DefaultActionTriggerVersion = "v3"
	defaultBuildPoll            = time.Second
)

// ActionSpec is the Action mailproof wants in the tenant.
type ActionSpec struct {
	// Name identifies the Action: an existing one with this name is
	// updated, otherwise one is created.
	Name string
	Code string
	// Runtime defaults to DefaultActionRuntime.
	Runtime string
	// Trigger and TriggerVersion default to DefaultActionTrigger and
	// DefaultActionTriggerVersion.
	Trigger, TriggerVersion string
	// Secrets become the Action's complete secret list.
	Secrets map[string]string
	// PollInterval is the wait between build-status reads; default 1s.
	PollInterval time.Duration
}

// ActionDeployment reports what DeployAction did.
type ActionDeployment struct {
	ActionID string
	// Version is the number of the version now deployed.
	Version int
	// Created is true when the Action did not exist before.
	Created bool
	// Bound is true when the Action was added to the trigger's bindings
	// (false when it was bound already).
	Bound bool
}

// DeployAction creates or updates the Action, waits for Auth0 to build it,
// deploys it and makes sure the trigger runs it, after any Actions already
// bound there. It is idempotent: running it again deploys a new version and
// leaves the bindings alone (ActionState.Drift tells whether there is
// anything to deploy). Each Management API call counts against the
// tenant's rate limit; a 404 means the Action vanished meanwhile and
// matches ErrPermanent. A build Auth0 reports as failed returns
// ErrActionBuildFailed: nothing is deployed, the bindings are untouched.
func (c *Client) DeployAction(ctx context.Context, spec ActionSpec) (ActionDeployment, error) {
	if spec.Name == "" || spec.Code == "" {
		return ActionDeployment{}, fmt.Errorf("deploy action: %w: name and code are required", ErrPermanent)
	}
	spec = withActionDefaults(spec)
	m := c.m.Load()
	fail := func(step string, err error, ex *exchange) (ActionDeployment, error) {
		return ActionDeployment{}, fmt.Errorf("deploy action %q: %s: %w", spec.Name, step, c.classify(m, err, ex, ErrPermanent))
	}

	id, created, err := c.upsertAction(ctx, m, spec)
	if err != nil {
		return ActionDeployment{}, fmt.Errorf("deploy action %q: %w", spec.Name, err)
	}
	if err := c.waitBuilt(ctx, m, id, spec.PollInterval); err != nil {
		return ActionDeployment{}, fmt.Errorf("deploy action %q: %w", spec.Name, err)
	}
	dctx, ex := withExchange(ctx)
	v, err := m.Action.Deploy(dctx, id)
	if err != nil {
		return fail("deploy", err, ex)
	}
	bound, err := c.bind(ctx, m, id, spec.Trigger)
	if err != nil {
		return ActionDeployment{}, fmt.Errorf("deploy action %q: %w", spec.Name, err)
	}
	return ActionDeployment{ActionID: id, Version: v.Number, Created: created, Bound: bound}, nil
}

func withActionDefaults(spec ActionSpec) ActionSpec {
	if spec.Runtime == "" {
		spec.Runtime = DefaultActionRuntime
	}
	if spec.Trigger == "" {
		spec.Trigger = DefaultActionTrigger
	}
	if spec.TriggerVersion == "" {
		spec.TriggerVersion = DefaultActionTriggerVersion
	}
	if spec.PollInterval <= 0 {
		spec.PollInterval = defaultBuildPoll
	}
	return spec
}

// upsertAction writes the draft and returns the Action's id.
func (c *Client) upsertAction(ctx context.Context, m *management.Management, spec ActionSpec) (string, bool, error) {
	names := make([]string, 0, len(spec.Secrets))
	for name := range spec.Secrets {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order keeps repeated deploys identical
	secrets := make([]management.ActionSecret, 0, len(names))
	for _, name := range names {
		secrets = append(secrets, management.ActionSecret{Name: auth0.String(name), Value: auth0.String(spec.Secrets[name])})
	}
	a := &management.Action{
		Name:              auth0.String(spec.Name),
		Code:              auth0.String(spec.Code),
		Runtime:           auth0.String(spec.Runtime),
		SupportedTriggers: []management.ActionTrigger{{ID: auth0.String(spec.Trigger), Version: auth0.String(spec.TriggerVersion)}},
		Secrets:           &secrets,
	}

	lctx, ex := withExchange(ctx)
	list, err := m.Action.List(lctx, management.Parameter("actionName", spec.Name))
	if err != nil {
		return "", false, fmt.Errorf("find: %w", c.classify(m, err, ex, ErrPermanent))
	}
	for _, existing := range list.Actions {
		if existing.GetName() != spec.Name {
			continue
		}
		uctx, ex := withExchange(ctx)
		if err := m.Action.Update(uctx, existing.GetID(), a); err != nil {
			return "", false, fmt.Errorf("update: %w", c.classify(m, err, ex, ErrPermanent))
		}
		return existing.GetID(), false, nil
	}
	cctx, ex := withExchange(ctx)
	if err := m.Action.Create(cctx, a); err != nil {
		return "", false, fmt.Errorf("create: %w", c.classify(m, err, ex, ErrPermanent))
	}
	return a.GetID(), true, nil
}

// waitBuilt polls until Auth0 has built the draft: deploying earlier fails.
func (c *Client) waitBuilt(ctx context.Context, m *management.Management, id string, every time.Duration) error {
	for {
		rctx, ex := withExchange(ctx)
		a, err := m.Action.Read(rctx, id)
		if err != nil {
			return fmt.Errorf("read build status: %w", c.classify(m, err, ex, ErrPermanent))
		}
		switch a.GetStatus() {
		case management.ActionStatusBuilt:
			return nil
		case management.ActionStatusFailed:
			// Auth0's API carries no build errors on an Action: only its
			// Dashboard shows them.
			live := "no version of it is deployed"
			if v := a.GetDeployedVersion(); v != nil && v.Number > 0 {
				live = fmt.Sprintf("version %d stays deployed", v.Number)
			}
			return fmt.Errorf("%w: Auth0 reports build status %q for action id %s; its build errors show on the Action in the Auth0 Dashboard (Actions > Library); %s",
				ErrActionBuildFailed, a.GetStatus(), id, live)
		}
		timer := time.NewTimer(every)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("wait for build: %w: %w", ErrTransient, ctx.Err())
		case <-timer.C:
		}
	}
}

// bind appends the Action to the trigger's bindings unless it is there.
// Auth0 replaces the whole list on update, so the others are written back
// as they were, in order.
func (c *Client) bind(ctx context.Context, m *management.Management, id, trigger string) (bool, error) {
	bctx, ex := withExchange(ctx)
	current, err := m.Action.Bindings(bctx, trigger)
	if err != nil {
		return false, fmt.Errorf("read bindings: %w", c.classify(m, err, ex, ErrPermanent))
	}
	// Auth0 allows at most 20 Actions per trigger, well under the page of
	// 50 the SDK asks for; still, writing back a partial list would unbind
	// the rest. (List.HasNext cannot tell: this answer has no "limit".)
	if len(current.Bindings) < current.Total {
		return false, fmt.Errorf("read bindings: %w: %d of %d bindings on the page", ErrPermanent, len(current.Bindings), current.Total)
	}
	next := make([]*management.ActionBinding, 0, len(current.Bindings)+1)
	for _, b := range current.Bindings {
		if b.GetAction().GetID() == id {
			return false, nil
		}
		keep := &management.ActionBinding{
			Ref: &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByID), Value: auth0.String(b.GetAction().GetID())},
		}
		if b.GetDisplayName() != "" {
			keep.DisplayName = auth0.String(b.GetDisplayName())
		}
		next = append(next, keep)
	}
	next = append(next, &management.ActionBinding{
		Ref: &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByID), Value: auth0.String(id)},
	})
	uctx, ex := withExchange(ctx)
	if err := m.Action.UpdateBindings(uctx, trigger, next); err != nil {
		return false, fmt.Errorf("update bindings: %w", c.classify(m, err, ex, ErrPermanent))
	}
	return true, nil
}
