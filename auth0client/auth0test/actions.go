package auth0test

import (
	"fmt"
	"slices"
	"time"
)

// defaultBuildDelay is how long a created or updated Action takes to build,
// so a client has to poll as it must against Auth0.
const defaultBuildDelay = 200 * time.Millisecond

// Action is the tenant's view of one Action.
type Action struct {
	ID                string
	Name              string
	Code              string
	Runtime           string
	SupportedTriggers []string // trigger ids
	// Status is the draft's build status: "pending" for the first half of
	// the build delay after a create or update, "building" for the second,
	// then "built", or "failed" when FailNextBuild chose this build.
	Status string
	// Secrets maps secret names to values; the API never returns values.
	Secrets map[string]string
	// DeployedCode is the code of the deployed version; empty until the
	// first deploy.
	DeployedCode    string
	DeployedVersion int
	// AllChangesDeployed is false while the draft differs from the deployed
	// version.
	AllChangesDeployed bool
}

type actionTrigger struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

type actionDependency struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	RegistryURL string `json:"registry_url,omitempty"`
}

type actionSecret struct {
	name      string
	value     string
	updatedAt time.Time
}

// action is a stored Action: the draft plus its deployed versions.
type action struct {
	id           string
	name         string
	code         string
	runtime      string
	triggers     []actionTrigger
	dependencies []actionDependency
	secrets      []actionSecret
	createdAt    time.Time
	updatedAt    time.Time
	buildStart   time.Time // when the current draft's build started
	buildsAt     time.Time // when it ends
	buildFails   bool      // and whether it ends in "failed"
	versions     []*actionVersion
	deployed     *actionVersion
	draftChanged bool // the draft differs from the deployed version
}

type actionVersion struct {
	id        string
	number    int
	code      string
	runtime   string
	deps      []actionDependency
	triggers  []actionTrigger
	secrets   []actionSecret
	createdAt time.Time
	builtAt   time.Time
}

// status is the draft's build status at now.
func (a *action) status(now time.Time) string {
	switch {
	case now.Before(a.buildStart.Add(a.buildsAt.Sub(a.buildStart) / 2)):
		return "pending"
	case now.Before(a.buildsAt):
		return "building"
	case a.buildFails:
		return "failed"
	}
	return "built"
}

// startBuild starts building the draft at now; the caller holds t.mu or
// owns a.
func (t *Tenant) startBuild(a *action, now time.Time) {
	a.buildStart, a.buildsAt = now, now.Add(t.buildDelay)
	a.buildFails = t.failBuilds > 0
	if a.buildFails {
		t.failBuilds--
	}
}

// FailNextBuild makes the next Action build the tenant starts (on a create
// or an update) end in "failed" instead of "built", as a build with an
// error in the code or a missing dependency does at Auth0. Each call fails
// one more build; a build already running is not affected.
func (t *Tenant) FailNextBuild() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failBuilds++
}

func (a *action) triggerIDs() []string {
	ids := make([]string, len(a.triggers))
	for i, tr := range a.triggers {
		ids[i] = tr.ID
	}
	return ids
}

func (a *action) supports(trigger string) bool {
	return slices.Contains(a.triggerIDs(), trigger)
}

func (a *action) view(now time.Time) Action {
	v := Action{
		ID:                 a.id,
		Name:               a.name,
		Code:               a.code,
		Runtime:            a.runtime,
		SupportedTriggers:  a.triggerIDs(),
		Status:             a.status(now),
		Secrets:            map[string]string{},
		AllChangesDeployed: a.deployed != nil && !a.draftChanged,
	}
	for _, s := range a.secrets {
		v.Secrets[s.name] = s.value
	}
	if a.deployed != nil {
		v.DeployedCode = a.deployed.code
		v.DeployedVersion = a.deployed.number
	}
	return v
}

// setSecrets replaces the secret list; an entry sent without a value keeps
// the value it already had, so a client can rotate one secret without
// resending the others.
func (a *action) setSecrets(in []wireSecretIn, now time.Time) {
	old := map[string]actionSecret{}
	for _, s := range a.secrets {
		old[s.name] = s
	}
	a.secrets = a.secrets[:0:0]
	for _, s := range in {
		if s.Value == nil {
			if prev, ok := old[s.Name]; ok {
				a.secrets = append(a.secrets, prev)
				continue
			}
		}
		val := ""
		if s.Value != nil {
			val = *s.Value
		}
		a.secrets = append(a.secrets, actionSecret{name: s.Name, value: val, updatedAt: now})
	}
}

// newUUID returns a random version 4 UUID, the shape of Action ids.
func newUUID() string {
	h := []byte(randomHex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// Action returns the stored Action named name.
func (t *Tenant) Action(name string) (Action, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.actionByName(name)
	if a == nil {
		return Action{}, false
	}
	return a.view(t.now()), true
}

// Bindings returns the names of the Actions bound to trigger, in order.
func (t *Tenant) Bindings(trigger string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var names []string
	for _, b := range t.bindings[trigger] {
		if a := t.actions[b.actionID]; a != nil {
			names = append(names, a.name)
		}
	}
	return names
}

// actionByName finds an Action; the caller holds t.mu.
func (t *Tenant) actionByName(name string) *action {
	for _, a := range t.actions {
		if a.name == name {
			return a
		}
	}
	return nil
}
