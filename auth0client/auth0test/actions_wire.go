package auth0test

import (
	"time"
)

// Actions use RFC 3339 timestamps with nanoseconds, unlike users.
func isoNano(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// actionBody is a create or update request. go-auth0 sends name and
// supported_triggers even when unset (as null), so null means "unchanged".
type actionBody struct {
	Name              *string             `json:"name"`
	SupportedTriggers []actionTrigger     `json:"supported_triggers"`
	Code              *string             `json:"code"`
	Dependencies      *[]actionDependency `json:"dependencies"`
	Runtime           *string             `json:"runtime"`
	Secrets           *[]wireSecretIn     `json:"secrets"`
}

type wireSecretIn struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

type wireSecretOut struct {
	Name      string `json:"name"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// wireAction is an Action in the recorded field order. built_at, which
// Auth0's schema lists, is in no recorded answer, and is left out.
type wireAction struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	SupportedTriggers  []actionTrigger     `json:"supported_triggers"`
	CreatedAt          string              `json:"created_at"`
	UpdatedAt          string              `json:"updated_at"`
	Code               string              `json:"code,omitempty"`
	Dependencies       *[]actionDependency `json:"dependencies,omitempty"` // [] when none; absent in the short form
	Runtime            string              `json:"runtime,omitempty"`
	Status             string              `json:"status,omitempty"`
	Secrets            []wireSecretOut     `json:"secrets,omitempty"`
	CurrentVersion     *wireCurrentVersion `json:"current_version,omitempty"`
	DeployedVersion    *wireVersion        `json:"deployed_version,omitempty"`
	AllChangesDeployed bool                `json:"all_changes_deployed"`
}

// wireVersion is a version of an Action, in the recorded field order.
type wireVersion struct {
	Code              string             `json:"code"`
	Dependencies      []actionDependency `json:"dependencies"`
	ID                string             `json:"id"`
	Deployed          bool               `json:"deployed"`
	Number            int                `json:"number"`
	BuiltAt           string             `json:"built_at,omitempty"`
	Secrets           []wireSecretOut    `json:"secrets"`
	Status            string             `json:"status"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	Runtime           string             `json:"runtime"`
	SupportedTriggers []actionTrigger    `json:"supported_triggers"`
	Action            *wireAction        `json:"action,omitempty"`
}

// wireCurrentVersion is an Action's current_version: the latest version,
// in an older shape (upper-case status, build_time), as recorded.
type wireCurrentVersion struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Runtime   string `json:"runtime"`
	Status    string `json:"status"`
	Number    int    `json:"number"`
	BuildTime string `json:"build_time,omitempty"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// wireBinding is one binding, in the recorded field order.
type wireBinding struct {
	ID          string      `json:"id"`
	TriggerID   string      `json:"trigger_id"`
	Action      *wireAction `json:"action"`
	CreatedAt   string      `json:"created_at"`
	UpdatedAt   string      `json:"updated_at"`
	DisplayName string      `json:"display_name"`
}

// actionWire renders an Action for GET, POST and PATCH answers.
func actionWire(a *action, now time.Time) wireAction {
	w := wireAction{
		ID:                 a.id,
		Name:               a.name,
		SupportedTriggers:  nonNil(a.triggers),
		CreatedAt:          isoNano(a.createdAt),
		UpdatedAt:          isoNano(a.updatedAt),
		Code:               a.code,
		Dependencies:       ptr(nonNil(a.dependencies)),
		Runtime:            a.runtime,
		Status:             a.status(now),
		Secrets:            secretsWire(a.secrets),
		AllChangesDeployed: a.deployed != nil && !a.draftChanged,
	}
	a.addVersions(&w)
	return w
}

// addVersions fills current_version and deployed_version, present once the
// Action was deployed.
func (a *action) addVersions(w *wireAction) {
	if len(a.versions) > 0 {
		cur := a.versions[len(a.versions)-1]
		w.CurrentVersion = &wireCurrentVersion{
			ID:        cur.id,
			Code:      cur.code,
			Runtime:   cur.runtime,
			Status:    "BUILT",
			Number:    cur.number,
			BuildTime: isoNano(cur.builtAt),
			CreatedAt: isoNano(cur.createdAt),
			UpdatedAt: isoNano(cur.builtAt),
		}
	}
	if a.deployed != nil {
		v := versionWire(a.deployed, true)
		w.DeployedVersion = &v
	}
}

func secretsWire(in []actionSecret) []wireSecretOut {
	out := []wireSecretOut{}
	for _, s := range in {
		out = append(out, wireSecretOut{Name: s.name, UpdatedAt: isoNano(s.updatedAt)})
	}
	return out
}

// actionRef is the short Action inside a version answer. Its updated_at is
// the creation time in every recorded answer, whatever changed since.
func actionRef(a *action) *wireAction {
	return &wireAction{
		ID:                 a.id,
		Name:               a.name,
		SupportedTriggers:  nonNil(a.triggers),
		CreatedAt:          isoNano(a.createdAt),
		UpdatedAt:          isoNano(a.createdAt),
		AllChangesDeployed: a.deployed != nil && !a.draftChanged,
	}
}

func versionWire(v *actionVersion, deployed bool) wireVersion {
	return wireVersion{
		Code:              v.code,
		Dependencies:      nonNil(v.deps),
		ID:                v.id,
		Deployed:          deployed,
		Number:            v.number,
		BuiltAt:           isoNano(v.builtAt),
		Secrets:           secretsWire(v.secrets),
		Status:            "built",
		CreatedAt:         isoNano(v.createdAt),
		UpdatedAt:         isoNano(v.builtAt),
		Runtime:           v.runtime,
		SupportedTriggers: nonNil(v.triggers),
	}
}

func ptr[T any](v T) *T { return &v }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
