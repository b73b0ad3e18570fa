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
		// Bindings show the Action's identity and its versions, not its
		// draft.
		aw := actionRef(a)
		a.addVersions(aw)
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
	q := r.URL.Query()
	page, okPage := intParam(q, "page", 0, 0, -1)
	perPage, okPer := intParam(q, "per_page", defaultBindingsPerPage, 1, maxPerPage)
	if !okPage || !okPer {
		writeQueryError(w, "Query validation error: 'Expected type integer' on property page or per_page.")
		return
	}
	t.mu.Lock()
	all := t.bindingsWire(trigger, t.now())
	t.mu.Unlock()
	start := min(page*perPage, len(all))
	out := all[start:min(start+perPage, len(all))]
	// The recorded answer has no "page", though Auth0's reference shows one.
	writeJSON(w, http.StatusOK, bindingPage{Bindings: out, Total: len(all), PerPage: perPage})
}

// defaultBindingsPerPage is Auth0's documented default page size for
// bindings; go-auth0 always asks for 50.
const defaultBindingsPerPage = 20

// bindingPage is GET .../bindings's answer, in the recorded field order.
type bindingPage struct {
	Bindings []wireBinding `json:"bindings"`
	Total    int           `json:"total"`
	PerPage  int           `json:"per_page"`
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
