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

type wireAction struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	SupportedTriggers  []actionTrigger    `json:"supported_triggers"`
	CreatedAt          string             `json:"created_at"`
	UpdatedAt          string             `json:"updated_at"`
	Code               string             `json:"code,omitempty"`
	Dependencies       []actionDependency `json:"dependencies,omitempty"`
	Runtime            string             `json:"runtime,omitempty"`
	Status             string             `json:"status,omitempty"`
	Secrets            []wireSecretOut    `json:"secrets,omitempty"`
	DeployedVersion    *wireVersion       `json:"deployed_version,omitempty"`
	AllChangesDeployed bool               `json:"all_changes_deployed"`
	BuiltAt            string             `json:"built_at,omitempty"`
}

type wireVersion struct {
	ID                string             `json:"id"`
	Code              string             `json:"code"`
	Dependencies      []actionDependency `json:"dependencies"`
	Deployed          bool               `json:"deployed"`
	Number            int                `json:"number"`
	Status            string             `json:"status"`
	Runtime           string             `json:"runtime"`
	SupportedTriggers []actionTrigger    `json:"supported_triggers"`
	BuiltAt           string             `json:"built_at,omitempty"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	Action            *wireAction        `json:"action,omitempty"`
}

type wireBinding struct {
	ID          string      `json:"id"`
	TriggerID   string      `json:"trigger_id"`
	DisplayName string      `json:"display_name"`
	Action      *wireAction `json:"action"`
	CreatedAt   string      `json:"created_at"`
	UpdatedAt   string      `json:"updated_at"`
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
		Dependencies:       nonNil(a.dependencies),
		Runtime:            a.runtime,
		Status:             a.status(now),
		Secrets:            []wireSecretOut{},
		AllChangesDeployed: a.deployed != nil && !a.draftChanged,
	}
	if w.Status == "built" {
		w.BuiltAt = isoNano(a.buildsAt)
	}
	for _, s := range a.secrets {
		w.Secrets = append(w.Secrets, wireSecretOut{Name: s.name, UpdatedAt: isoNano(s.updatedAt)})
	}
	if a.deployed != nil {
		v := versionWire(a.deployed, true)
		w.DeployedVersion = &v
	}
	return w
}

// actionRef is the short Action inside a version answer.
func actionRef(a *action) *wireAction {
	return &wireAction{
		ID:                 a.id,
		Name:               a.name,
		SupportedTriggers:  nonNil(a.triggers),
		CreatedAt:          isoNano(a.createdAt),
		UpdatedAt:          isoNano(a.updatedAt),
		AllChangesDeployed: a.deployed != nil && !a.draftChanged,
	}
}

func versionWire(v *actionVersion, deployed bool) wireVersion {
	return wireVersion{
		ID:                v.id,
		Code:              v.code,
		Dependencies:      nonNil(v.deps),
		Deployed:          deployed,
		Number:            v.number,
		Status:            "built",
		Runtime:           v.runtime,
		SupportedTriggers: nonNil(v.triggers),
		BuiltAt:           isoNano(v.builtAt),
		CreatedAt:         isoNano(v.createdAt),
		UpdatedAt:         isoNano(v.createdAt),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
