package auth0client

import (
	"slices"
)

// ActionDrift is what deploying an ActionSpec would change in the tenant,
// as far as Auth0 shows: it never returns secret values, so secrets are
// compared by name only. The zero value means nothing would change.
type ActionDrift struct {
	Absent      bool // no Action has the spec's name
	Undeployed  bool // the Action exists, but no version of it is deployed
	Draft       bool // the draft holds changes the deployed version lacks
	Code        bool // the deployed code is other than the spec's
	Runtime     bool
	Trigger     bool // the Action supports other triggers than the spec's
	SecretNames bool // the Action's secret names are other than the spec's
	Unbound     bool // the trigger does not run the Action
}

// None is true when a deploy of the spec would change nothing Auth0 shows.
func (d ActionDrift) None() bool { return d == ActionDrift{} }

// Reasons names each difference, in words for a person.
func (d ActionDrift) Reasons() []string {
	var r []string
	for _, c := range []struct {
		on   bool
		what string
	}{
		{d.Absent, "the Action does not exist"},
		{d.Undeployed, "no version is deployed"},
		{d.Draft, "the draft holds changes that are not deployed"},
		{d.Code, "the code differs"},
		{d.Runtime, "the runtime differs"},
		{d.Trigger, "the trigger version differs"},
		{d.SecretNames, "the secrets differ"},
		{d.Unbound, "the Action is not bound"},
	} {
		if c.on {
			r = append(r, c.what)
		}
	}
	return r
}

// Drift compares the state with spec, its defaults filled in as
// DeployAction fills them. The state must be of spec's name and trigger.
func (st ActionState) Drift(spec ActionSpec) ActionDrift {
	spec = withActionDefaults(spec)
	if st.ID == "" {
		return ActionDrift{Absent: true, Unbound: true}
	}
	names := make([]string, 0, len(spec.Secrets))
	for name := range spec.Secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	return ActionDrift{
		Undeployed:  st.DeployedVersion == 0,
		Draft:       st.DeployedVersion > 0 && !st.AllChangesDeployed,
		Code:        st.DeployedVersion > 0 && st.DeployedCode != spec.Code,
		Runtime:     st.Runtime != spec.Runtime,
		Trigger:     !slices.Equal(st.Triggers, []string{spec.Trigger + " " + spec.TriggerVersion}),
		SecretNames: !slices.Equal(slices.Sorted(slices.Values(st.Secrets)), names),
		Unbound:     st.BoundAt == 0,
	}
}
