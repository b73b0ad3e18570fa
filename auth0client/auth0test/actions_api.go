package auth0test

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
)

// knownTriggers are the trigger ids go-auth0 v1.45.0 names.
var knownTriggers = []string{
	"post-login", "client-credentials", "credentials-exchange", "pre-user-registration",
	"post-user-registration", "post-change-password", "send-phone-message",
	"custom-phone-provider", "custom-email-provider", "password-reset-post-challenge",
	"custom-token-exchange", "password-hash-migration",
}

// runtimes are the Node runtimes Auth0 still accepts for new code.
var runtimes = []string{"node18", "node18-actions", "node22"}

const defaultRuntime = "node22"

func writeActionNotFound(w http.ResponseWriter) {
	writeAPIError(w, http.StatusNotFound, "That action does not exist.", "")
}

// validActionBody checks the parts of a create or update body that do not
// depend on stored state, answering 400 when one is wrong.
func validActionBody(w http.ResponseWriter, b actionBody) bool {
	for _, tr := range b.SupportedTriggers {
		if !slices.Contains(knownTriggers, tr.ID) {
			writeBadRequest(w, "Invalid trigger ID: "+tr.ID)
			return false
		}
	}
	if b.Runtime != nil && !slices.Contains(runtimes, *b.Runtime) {
		writeBadRequest(w, "Invalid runtime: "+*b.Runtime)
		return false
	}
	if b.Secrets != nil {
		for _, s := range *b.Secrets {
			if s.Name == "" {
				writeBadRequest(w, "Payload validation error: 'Missing required property: name' on property secrets.")
				return false
			}
		}
	}
	return true
}

func (t *Tenant) handleCreateAction(w http.ResponseWriter, r *http.Request) {
	var b actionBody
	if !decodeStrict(w, r, &b, 0) || !validActionBody(w, b) {
		return
	}
	switch {
	case b.Name == nil || *b.Name == "":
		writeBadRequest(w, "Payload validation error: 'Missing required property: name'.")
		return
	case len(b.SupportedTriggers) == 0:
		writeBadRequest(w, "Payload validation error: 'Missing required property: supported_triggers'.")
		return
	}
	now := t.now()
	a := &action{
		id:        newUUID(),
		name:      *b.Name,
		runtime:   defaultRuntime,
		triggers:  b.SupportedTriggers,
		createdAt: now,
		updatedAt: now,
	}
	t.applyActionBody(a, b)

	t.mu.Lock()
	if t.actionByName(a.name) != nil {
		t.mu.Unlock()
		writeAPIError(w, http.StatusConflict, "An action with this name already exists.", "")
		return
	}
	t.startBuild(a, now)
	t.actions[a.id] = a
	out := actionWire(a, now)
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// applyActionBody copies the draft fields of b into a; the caller owns a
// (not yet stored, or under t.mu).
func (t *Tenant) applyActionBody(a *action, b actionBody) {
	if b.Code != nil {
		a.code = *b.Code
	}
	if b.Runtime != nil {
		a.runtime = *b.Runtime
	}
	if b.Dependencies != nil {
		a.dependencies = *b.Dependencies
	}
	if len(b.SupportedTriggers) > 0 {
		a.triggers = b.SupportedTriggers
	}
	if b.Secrets != nil {
		a.setSecrets(*b.Secrets, a.updatedAt)
	}
}

func (t *Tenant) handleListActions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, _ := strconv.Atoi(q.Get("per_page"))
	if perPage <= 0 || perPage > 100 {
		perPage = 50
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 0)

	t.mu.Lock()
	now := t.now()
	var matched []*action
	for _, a := range t.actions {
		if name := q.Get("actionName"); name != "" && a.name != name {
			continue
		}
		if trig := q.Get("triggerId"); trig != "" && !a.supports(trig) {
			continue
		}
		if q.Get("deployed") == "true" && a.deployed == nil {
			continue
		}
		matched = append(matched, a)
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].createdAt.Before(matched[j].createdAt) })
	out := []wireAction{}
	for i := page * perPage; i < len(matched) && i < (page+1)*perPage; i++ {
		out = append(out, actionWire(matched[i], now))
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, struct { // the recorded field order
		Actions []wireAction `json:"actions"`
		Total   int          `json:"total"`
		PerPage int          `json:"per_page"`
	}{out, len(matched), perPage})
}

func (t *Tenant) handleGetAction(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	a, ok := t.actions[r.PathValue("id")]
	var out wireAction
	if ok {
		out = actionWire(a, t.now())
	}
	t.mu.Unlock()
	if !ok {
		writeActionNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePatchAction updates the draft; any change sends the Action back to
// "pending" until it is rebuilt, as Auth0 does.
func (t *Tenant) handlePatchAction(w http.ResponseWriter, r *http.Request) {
	var b actionBody
	if !decodeStrict(w, r, &b, 0) || !validActionBody(w, b) {
		return
	}
	t.mu.Lock()
	a, ok := t.actions[r.PathValue("id")]
	if !ok {
		t.mu.Unlock()
		writeActionNotFound(w)
		return
	}
	if b.Name != nil && *b.Name != a.name {
		if t.actionByName(*b.Name) != nil {
			t.mu.Unlock()
			writeAPIError(w, http.StatusConflict, "An action with this name already exists.", "")
			return
		}
		a.name = *b.Name
	}
	now := t.now()
	a.updatedAt = now
	t.startBuild(a, now)
	a.draftChanged = true
	t.applyActionBody(a, b)
	out := actionWire(a, now)
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (t *Tenant) handleDeleteAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t.mu.Lock()
	_, ok := t.actions[id]
	if ok {
		delete(t.actions, id)
		for trig, bs := range t.bindings {
			t.bindings[trig] = slices.DeleteFunc(bs, func(b binding) bool { return b.actionID == id })
		}
	}
	t.mu.Unlock()
	if !ok {
		writeActionNotFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleDeployAction snapshots the built draft (code, dependencies,
// runtime, triggers, secret names) as a new version and makes it the
// deployed one. Like the recorded Auth0 answer, the version in the
// response still says deployed: false (deployment finishes asynchronously)
// and has no built_at; the Action read afterwards shows it deployed. A draft
// that is not built (pending, building or failed) cannot be deployed.
func (t *Tenant) handleDeployAction(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	a, ok := t.actions[r.PathValue("id")]
	if !ok {
		t.mu.Unlock()
		writeActionNotFound(w)
		return
	}
	now := t.now()
	if a.status(now) != "built" {
		t.mu.Unlock()
		writeBadRequest(w, "An action must be built before it can be deployed.")
		return
	}
	v := &actionVersion{
		id:        newUUID(),
		number:    len(a.versions) + 1,
		code:      a.code,
		runtime:   a.runtime,
		deps:      slices.Clone(a.dependencies),
		triggers:  slices.Clone(a.triggers),
		secrets:   slices.Clone(a.secrets),
		createdAt: now,
		builtAt:   now,
	}
	a.versions = append(a.versions, v)
	a.deployed = v
	a.draftChanged = false
	out := versionWire(v, false)
	out.BuiltAt = ""
	out.Action = actionRef(a)
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
