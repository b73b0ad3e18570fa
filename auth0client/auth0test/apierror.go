package auth0test

import (
	"encoding/json"
	"net/http"
)

// apiError is the Management API error body. errorCode is absent from some
// real answers (route 404s, 401s), hence omitempty.
type apiError struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

// oauthError is the Authentication API error body.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// writeJSON answers v as JSON labelled application/json; charset=utf-8, as
// the Management API labels its answers, unless the handler chose another
// label already: /oauth/token answers plain application/json (go-auth0's
// recordings).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeAPIError(w http.ResponseWriter, status int, message, errorCode string) {
	writeJSON(w, status, apiError{
		StatusCode: status,
		Error:      http.StatusText(status),
		Message:    message,
		ErrorCode:  errorCode,
	})
}

func writeBadRequest(w http.ResponseWriter, message string) {
	writeAPIError(w, http.StatusBadRequest, message, "invalid_body")
}

func writeUserNotFound(w http.ResponseWriter) {
	writeAPIError(w, http.StatusNotFound, "The user does not exist.", "inexistent_user")
}

func writeRouteNotFound(w http.ResponseWriter) {
	writeAPIError(w, http.StatusNotFound, "Not Found", "")
}

func writeRateLimited(w http.ResponseWriter) {
	writeAPIError(w, http.StatusTooManyRequests, "Global limit has been reached", "too_many_requests")
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, oauthError{Error: code, ErrorDescription: description})
}
