package auth0test

import (
	"fmt"
	"net/http"
	"net/mail"
	"strings"
)

// createUserBody lists the POST /api/v2/users properties the emulator
// models; any other property is rejected as Auth0 rejects unknown ones, so
// a client relying on an unmodelled field notices.
type createUserBody struct {
	Connection    *string        `json:"connection"`
	Email         *string        `json:"email"`
	Password      *string        `json:"password"`
	EmailVerified *bool          `json:"email_verified"`
	VerifyEmail   *bool          `json:"verify_email"`
	Name          *string        `json:"name"`
	Nickname      *string        `json:"nickname"`
	Picture       *string        `json:"picture"`
	UserID        *string        `json:"user_id"`
	AppMetadata   map[string]any `json:"app_metadata"`
	UserMetadata  map[string]any `json:"user_metadata"`
}

// patchUserBody lists the PATCH /api/v2/users/{id} properties the emulator
// models.
type patchUserBody struct {
	EmailVerified *bool          `json:"email_verified"`
	Email         *string        `json:"email"`
	Password      *string        `json:"password"`
	Connection    *string        `json:"connection"`
	ClientID      *string        `json:"client_id"`
	VerifyEmail   *bool          `json:"verify_email"`
	Name          *string        `json:"name"`
	Nickname      *string        `json:"nickname"`
	Picture       *string        `json:"picture"`
	AppMetadata   map[string]any `json:"app_metadata"`
	UserMetadata  map[string]any `json:"user_metadata"`
}

func invalidEmail(email string) bool {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email {
		return true
	}
	_, domain, _ := strings.Cut(email, "@")
	return !strings.Contains(strings.Trim(domain, "."), ".")
}

func emailFormatError(email string) string {
	return fmt.Sprintf("Payload validation error: 'Object didn't pass validation for format email: %s' on property email (The user's email).", email)
}

func (t *Tenant) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	if !decodeStrict(w, r, &b, 0) {
		return
	}
	switch {
	case b.Connection == nil || *b.Connection == "":
		writeBadRequest(w, "Payload validation error: 'Missing required property: connection'.")
		return
	case !t.connections[*b.Connection]:
		writeAPIError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
		return
	case b.Email == nil:
		writeBadRequest(w, "Payload validation error: 'Missing required property: email'.")
		return
	case invalidEmail(*b.Email):
		writeBadRequest(w, emailFormatError(*b.Email))
		return
	case b.Password == nil:
		writeBadRequest(w, "Payload validation error: 'Missing required property: password'.")
		return
	case weakPassword(*b.Password):
		writeAPIError(w, http.StatusBadRequest, "PasswordStrengthError: Password is too weak", "")
		return
	}

	now := utc(t.now())
	email := strings.ToLower(*b.Email)
	rec := &record{User: User{
		ID:           newUserID(),
		Email:        email,
		Name:         deref(b.Name, email),
		Nickname:     deref(b.Nickname, nickname(email)),
		Picture:      deref(b.Picture, gravatar(email)),
		Connection:   *b.Connection,
		CreatedAt:    now,
		UpdatedAt:    now,
		AppMetadata:  mergeMetadata(nil, b.AppMetadata),
		UserMetadata: mergeMetadata(nil, b.UserMetadata),
	}}
	if b.EmailVerified != nil {
		rec.EmailVerified = *b.EmailVerified
	}
	if b.UserID != nil && *b.UserID != "" {
		rec.ID = "auth0|" + *b.UserID
	}
	rec.setPassword(*b.Password)

	t.mu.Lock()
	if _, dup := t.users[rec.ID]; dup || t.emailTaken(rec.Connection, email, "") {
		t.mu.Unlock()
		writeAPIError(w, http.StatusConflict, "The user already exists.", "auth0_idp_error")
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
	if !decodeStrict(w, r, &b, 1) {
		return
	}
	if b.Email != nil && invalidEmail(*b.Email) {
		writeBadRequest(w, emailFormatError(*b.Email))
		return
	}
	if b.Password != nil && weakPassword(*b.Password) {
		writeAPIError(w, http.StatusBadRequest, "PasswordStrengthError: Password is too weak", "")
		return
	}

	u, apiErr := t.patchUser(r.PathValue("id"), b)
	if apiErr != nil {
		writeAPIError(w, apiErr.StatusCode, apiErr.Message, apiErr.ErrorCode)
		return
	}
	writeJSON(w, http.StatusOK, toWire(u))
}

// patchUser applies a validated PATCH body under the lock, so the answer
// can be written without holding it.
func (t *Tenant) patchUser(id string, b patchUserBody) (User, *apiError) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.users[id]
	if !ok {
		return User{}, &apiError{StatusCode: http.StatusNotFound, Message: "The user does not exist.", ErrorCode: "inexistent_user"}
	}
	if b.Connection != nil && *b.Connection != rec.Connection {
		return User{}, &apiError{StatusCode: http.StatusBadRequest, Message: "The connection does not match the user's connection.", ErrorCode: "invalid_body"}
	}
	now := utc(t.now())
	if b.Email != nil {
		email := strings.ToLower(*b.Email)
		if t.emailTaken(rec.Connection, email, rec.ID) {
			return User{}, &apiError{StatusCode: http.StatusBadRequest, Message: "The specified new email already exists", ErrorCode: "email_exists"}
		}
		if email != rec.Email {
			// A new address is unproven unless this same request says
			// otherwise.
			rec.EmailVerified = false
		}
		rec.Email = email
	}
	if b.EmailVerified != nil {
		rec.EmailVerified = *b.EmailVerified
	}
	if b.Password != nil {
		rec.setPassword(*b.Password)
		rec.LastPasswordReset = now
	}
	if b.Name != nil {
		rec.Name = *b.Name
	}
	if b.Nickname != nil {
		rec.Nickname = *b.Nickname
	}
	if b.Picture != nil {
		rec.Picture = *b.Picture
	}
	rec.AppMetadata = mergeMetadata(rec.AppMetadata, b.AppMetadata)
	rec.UserMetadata = mergeMetadata(rec.UserMetadata, b.UserMetadata)
	rec.UpdatedAt = now
	t.indexLocked(id)
	return rec.view(), nil
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
