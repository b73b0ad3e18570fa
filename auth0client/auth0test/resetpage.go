package auth0test

import (
	"errors"
	"html/template"
	"net/http"
)

// resetPage is a stand-in for Auth0's hosted reset-password page: a form
// with one password field that posts back to the link's own address. The
// wording is the emulator's; only the address, the field name and the
// outcome follow Auth0.
var resetPage = template.Must(template.New("reset").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Reset your password</title></head>
<body>
<h1>{{.Title}}</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">Reset password</button>
</form>{{end}}
</body>
</html>
`))

type resetView struct {
	Title   string
	Message string
	Form    bool
	Action  string
}

// handleResetPage shows the form for a usable link, or why it cannot be
// used.
func (t *Tenant) handleResetPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("ticket")
	t.mu.Lock()
	_, _, err := t.checkTicketLocked(code, t.now())
	t.mu.Unlock()
	if err != nil {
		writeResetPage(w, http.StatusBadRequest, linkProblem(err))
		return
	}
	writeResetPage(w, http.StatusOK, resetView{Title: "Change your password", Form: true, Action: r.URL.RequestURI()})
}

// handleResetSubmit sets the password posted in the form field "password".
func (t *Tenant) handleResetSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeResetPage(w, http.StatusBadRequest, resetView{Title: "Change your password", Message: "The form could not be read."})
		return
	}
	password := r.PostForm.Get("password")
	retry := resetView{Title: "Change your password", Form: true, Action: r.URL.RequestURI()}
	if password == "" {
		retry.Message = "Enter a new password."
		writeResetPage(w, http.StatusBadRequest, retry)
		return
	}
	_, err := t.FollowResetLink(t.URL()+r.URL.RequestURI(), password)
	if rule := refusedBy(err); rule != nil {
		retry.Message = rule.page
		writeResetPage(w, http.StatusBadRequest, retry)
		return
	}
	switch {
	case err != nil:
		writeResetPage(w, http.StatusBadRequest, linkProblem(err))
	default:
		writeResetPage(w, http.StatusOK, resetView{Title: "Password changed", Message: "Your password has been changed. You can now log in."})
	}
}

func linkProblem(err error) resetView {
	switch {
	case errors.Is(err, ErrLinkUsed):
		return resetView{Title: "Link already used", Message: "This link was already used to change the password."}
	case errors.Is(err, ErrLinkExpired):
		return resetView{Title: "Link expired", Message: "This link has expired."}
	}
	return resetView{Title: "Invalid link", Message: "This link is not valid."}
}

func writeResetPage(w http.ResponseWriter, status int, v resetView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = resetPage.Execute(w, v)
}

// refusedBy returns the password rule behind err, nil when err is not a
// refused password.
func refusedBy(err error) *passwordRule {
	for _, rule := range []*passwordRule{&ruleStrength, &ruleDictionary, &rulePersonal, &ruleHistory} {
		if errors.Is(err, rule.err) {
			return rule
		}
	}
	return nil
}
