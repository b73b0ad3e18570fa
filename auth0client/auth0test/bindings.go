package auth0test

import (
	"net/http"
	"slices"
	"time"
)

// binding is one entry of a trigger's ordered list of Actions.
type binding struct {
	id          string
	actionID    string
	displayName string
	createdAt   time.Time
}

// bindingsBody is PATCH .../bindings: the complete new list.
type bindingsBody struct {
	Bindings *[]bindingIn `json:"bindings"`
}

type bindingIn struct {
	Ref *struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"ref"`
	DisplayName string `json:"display_name"`
	// Secrets on a binding are accepted for compatibility and ignored: the
	// Action's own secrets are what the emulator models.
	Secrets []wireSecretIn `json:"secrets"`
}

func (t *Tenant) bindingsWire(trigger string, now time.Time) []wireBinding {
	out := []wireBinding{}
	for _, b := range t.bindings[trigger] {
		a := t.actions[b.actionID]
		if a == nil {
			continue
		}
		// Bindings show the Action's identity and deployed version, not
		// its draft.
		aw := actionRef(a)
		if a.deployed != nil {
			v := versionWire(a.deployed, true)
			aw.DeployedVersion = &v
		}
		out = append(out, wireBinding{
			ID:          b.id,
			TriggerID:   trigger,
			DisplayName: b.displayName,
			Action:      aw,
			CreatedAt:   isoNano(b.createdAt),
			UpdatedAt:   isoNano(b.createdAt),
		})
	}
	return out
}

func validTrigger(w http.ResponseWriter, trigger string) bool {
	if !slices.Contains(knownTriggers, trigger) {
		writeAPIError(w, http.StatusBadRequest, "Invalid trigger ID: "+trigger, "invalid_uri")
		return false
	}
	return true
}

func (t *Tenant) handleGetBindings(w http.ResponseWriter, r *http.Request) {
	trigger := r.PathValue("trigger")
	if !validTrigger(w, trigger) {
		return
	}
	t.mu.Lock()
	out := t.bindingsWire(trigger, t.now())
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"bindings": out, "total": len(out), "per_page": 50})
}

// handlePatchBindings replaces the trigger's whole list. Every referenced
// Action must exist, support the trigger and have a deployed version.
func (t *Tenant) handlePatchBindings(w http.ResponseWriter, r *http.Request) {
	trigger := r.PathValue("trigger")
	if !validTrigger(w, trigger) {
		return
	}
	var b bindingsBody
	if !decodeStrict(w, r, &b, 1) {
		return
	}
	if b.Bindings == nil {
		writeBadRequest(w, "Payload validation error: 'Missing required property: bindings'.")
		return
	}

	out, apiErr := t.replaceBindings(trigger, *b.Bindings)
	if apiErr != nil {
		writeAPIError(w, apiErr.StatusCode, apiErr.Message, apiErr.ErrorCode)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bindings": out})
}

// replaceBindings validates the new list and stores it under the lock; on
// any invalid entry nothing changes.
func (t *Tenant) replaceBindings(trigger string, ins []bindingIn) ([]wireBinding, *apiError) {
	bad := func(msg string) *apiError {
		return &apiError{StatusCode: http.StatusBadRequest, Message: msg, ErrorCode: "invalid_body"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	next := make([]binding, 0, len(ins))
	for _, in := range ins {
		if in.Ref == nil {
			return nil, bad("Payload validation error: 'Missing required property: ref'.")
		}
		var a *action
		switch in.Ref.Type {
		case "action_name":
			a = t.actionByName(in.Ref.Value)
		case "action_id":
			a = t.actions[in.Ref.Value]
		default:
			return nil, bad("Payload validation error: 'No enum match for: " + in.Ref.Type + "' on property ref.type.")
		}
		switch {
		case a == nil:
			return nil, &apiError{StatusCode: http.StatusNotFound, Message: "That action does not exist."}
		case !a.supports(trigger):
			return nil, bad("The action " + a.name + " does not support the trigger " + trigger + ".")
		case a.deployed == nil:
			return nil, bad("The action " + a.name + " must be deployed before it can be bound.")
		}
		name := in.DisplayName
		if name == "" {
			name = a.name
		}
		next = append(next, binding{id: newUUID(), actionID: a.id, displayName: name, createdAt: now})
	}
	t.bindings[trigger] = next
	return t.bindingsWire(trigger, now), nil
}
