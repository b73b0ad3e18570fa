package auth0test

import (
	"maps"
	"net/http"
	"strings"
)

func badBody(msg string) *apiError {
	return &apiError{StatusCode: http.StatusBadRequest, Message: msg, ErrorCode: "invalid_body"}
}

// Answers Auth0 gives about usernames. Auth0's wording for each, as clients
// that match on it quote it; the errorCode values are not confirmed by a
// recording.
var (
	errUsernameMissing = badBody("Payload validation error: 'Missing required property: username'.")
	errUsernameRefused = badBody("Cannot set username for connection without requires_username")
	errUsernameTaken   = &apiError{StatusCode: http.StatusBadRequest, Message: "The username provided is in use already.", ErrorCode: "auth0_idp_error"}
	errUserExists      = &apiError{StatusCode: http.StatusConflict, Message: "The user already exists.", ErrorCode: "auth0_idp_error"}
)

// passwordRefused is the Management API's answer to a password the
// connection's options refuse: a 400 without errorCode, as far as the
// answers clients quote show.
func passwordRefused(rule *passwordRule) *apiError {
	return &apiError{StatusCode: http.StatusBadRequest, Message: rule.message}
}

func writeErr(w http.ResponseWriter, e *apiError) {
	writeAPIError(w, e.StatusCode, e.Message, e.ErrorCode)
}

func (t *Tenant) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	raw, ok := decodeStrictRaw(w, r, &b, 0)
	if !ok {
		return
	}
	if msg := checkNulls(raw, &b, nil); msg != "" {
		writeBadRequest(w, msg)
		return
	}
	if msg := checkStrings(raw, createRules); msg != "" {
		writeBadRequest(w, msg)
		return
	}
	switch {
	case b.Connection == nil:
		writeBadRequest(w, "Payload validation error: 'Missing required property: connection'.")
		return
	case !t.connections[*b.Connection]:
		writeAPIError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
		return
	case b.Email == nil:
		writeBadRequest(w, "Payload validation error: 'Missing required property: email'.")
		return
	case b.Password == nil:
		writeBadRequest(w, "Payload validation error: 'Missing required property: password'.")
		return
	}
	opts := t.options(*b.Connection)
	switch {
	case opts.RequiresUsername && b.Username == nil:
		writeErr(w, errUsernameMissing)
		return
	case !opts.RequiresUsername && b.Username != nil:
		writeErr(w, errUsernameRefused)
		return
	case b.Username != nil && !opts.validUsername(*b.Username):
		writeBadRequest(w, opts.usernameError())
		return
	}

	now := utc(t.now())
	email := strings.ToLower(*b.Email)
	rec := &record{User: User{
		ID:            newUserID(),
		Email:         email,
		Name:          deref(b.Name, email),
		Nickname:      deref(b.Nickname, nickname(email)),
		Picture:       deref(b.Picture, gravatar(email)),
		GivenName:     deref(b.GivenName, ""),
		FamilyName:    deref(b.FamilyName, ""),
		PhoneNumber:   deref(b.PhoneNumber, ""),
		PhoneVerified: b.PhoneVerified != nil && *b.PhoneVerified,
		Username:      strings.ToLower(deref(b.Username, "")),
		Blocked:       b.Blocked != nil && *b.Blocked,
		blockedSet:    b.Blocked != nil,
		EmailVerified: b.EmailVerified != nil && *b.EmailVerified,
		Connection:    *b.Connection,
		CreatedAt:     now,
		UpdatedAt:     now,
		AppMetadata:   mergeMetadata(nil, b.AppMetadata),
		UserMetadata:  mergeMetadata(nil, b.UserMetadata),
	}}
	if b.UserID != nil && *b.UserID != "" {
		rec.ID = "auth0|" + *b.UserID
	}
	if rule := opts.checkPassword(*b.Password, personal(rec.User), nil); rule != nil {
		writeErr(w, passwordRefused(rule))
		return
	}
	rec.setPassword(*b.Password)

	t.mu.Lock()
	if _, dup := t.users[rec.ID]; dup || t.emailTaken(rec.Connection, email, "") {
		t.mu.Unlock()
		writeErr(w, errUserExists)
		return
	}
	if rec.Username != "" && t.usernameTaken(rec.Connection, rec.Username, "") {
		t.mu.Unlock()
		writeErr(w, errUsernameTaken)
		return
	}
	t.users[rec.ID] = rec
	t.indexLocked(rec.ID)
	out := rec.view()
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, toWire(out))
}

func (t *Tenant) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, ok := t.User(r.PathValue("id"))
	if !ok {
		writeUserNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, toWire(u))
}

func (t *Tenant) handlePatchUser(w http.ResponseWriter, r *http.Request) {
	var b patchUserBody
	raw, ok := decodeStrictRaw(w, r, &b, 1)
	if !ok {
		return
	}
	if msg := checkNulls(raw, &b, patchNullable); msg != "" {
		writeBadRequest(w, msg)
		return
	}
	b.cleared = map[string]bool{}
	for _, p := range patchNullable {
		if string(raw[p]) == "null" {
			b.cleared[p] = true
		}
	}
	if msg := checkStrings(raw, patchRules); msg != "" {
		writeBadRequest(w, msg)
		return
	}

	u, apiErr := t.patchUser(r.PathValue("id"), b)
	if apiErr != nil {
		writeErr(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, toWire(u))
}

// patchUser applies a validated PATCH body under the lock, so the answer
// can be written without holding it. Nothing changes unless every check
// passes.
func (t *Tenant) patchUser(id string, b patchUserBody) (User, *apiError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.users[id]
	if !ok {
		return User{}, &apiError{StatusCode: http.StatusNotFound, Message: "The user does not exist.", ErrorCode: "inexistent_user"}
	}
	if b.Connection != nil && *b.Connection != rec.Connection {
		return User{}, badBody("The connection does not match the user's connection.")
	}
	opts := t.options(rec.Connection)
	next := rec.User
	if b.Email != nil {
		email := strings.ToLower(*b.Email)
		if t.emailTaken(rec.Connection, email, rec.ID) {
			return User{}, &apiError{StatusCode: http.StatusBadRequest, Message: "The specified new email already exists", ErrorCode: "email_exists"}
		}
		if email != next.Email {
			// A new address is unproven unless this same request says
			// otherwise.
			next.EmailVerified = false
		}
		next.Email = email
	}
	if b.Username != nil {
		u := strings.ToLower(*b.Username)
		switch {
		case !opts.RequiresUsername:
			return User{}, errUsernameRefused
		case !opts.validUsername(*b.Username):
			return User{}, badBody(opts.usernameError())
		case t.usernameTaken(rec.Connection, u, rec.ID):
			return User{}, errUsernameTaken
		}
		next.Username = u
	}
	applyProfile(&next, b)
	if b.Password != nil {
		if rule := opts.checkPassword(*b.Password, personal(next), rec.history); rule != nil {
			return User{}, passwordRefused(rule)
		}
	}

	now := utc(t.now())
	rec.User = next
	if b.Password != nil {
		rec.setPassword(*b.Password)
		rec.LastPasswordReset = now
	}
	rec.UpdatedAt = now
	t.indexLocked(id)
	return rec.view(), nil
}

// applyProfile copies the profile properties of a PATCH onto u; a property
// sent as null is removed.
func applyProfile(u *User, b patchUserBody) {
	set := func(dst *string, v *string, prop string) {
		switch {
		case b.cleared[prop]:
			*dst = ""
		case v != nil:
			*dst = *v
		}
	}
	set(&u.Name, b.Name, "name")
	set(&u.Nickname, b.Nickname, "nickname")
	set(&u.Picture, b.Picture, "picture")
	set(&u.GivenName, b.GivenName, "given_name")
	set(&u.FamilyName, b.FamilyName, "family_name")
	set(&u.PhoneNumber, b.PhoneNumber, "phone_number")
	if b.EmailVerified != nil {
		u.EmailVerified = *b.EmailVerified
	}
	if b.PhoneVerified != nil {
		u.PhoneVerified = *b.PhoneVerified
	}
	if b.Blocked != nil {
		u.Blocked, u.blockedSet = *b.Blocked, true
	}
	u.AppMetadata = mergeMetadata(maps.Clone(u.AppMetadata), b.AppMetadata)
	u.UserMetadata = mergeMetadata(maps.Clone(u.UserMetadata), b.UserMetadata)
}

// handleDeleteUser answers 204 whether or not the user existed, as Auth0
// does.
func (t *Tenant) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t.mu.Lock()
	if _, ok := t.users[id]; ok {
		delete(t.users, id)
		t.indexLocked(id)
	}
	t.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func deref(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}
