package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Error is the body of every error answer: {"error":{"code":…,"message":…}}. Code is a
// stable machine-readable string (an outcome code where one applies); Message is for the
// person reading it and never carries internal error text.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody wraps Error the way it appears on the wire.
type ErrorBody struct {
	Error Error `json:"error"`
}

// NewError builds the echo error a handler returns for a client mistake. The cause, if
// any, is attached with WithInternal so it reaches the log and never the response.
func NewError(status int, code, message string) *echo.HTTPError {
	return echo.NewHTTPError(status, Error{Code: code, Message: message})
}

// DefaultCode names the error code used when an error carries only a status, such as
// echo's own 404, 405 and 413 answers.
func DefaultCode(status int) (code, message string) {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest, "the request is malformed"
	case http.StatusUnauthorized:
		return CodeUnauthorized, "authentication is required"
	case http.StatusNotFound:
		return CodeNotFound, "no such resource"
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed, "this method is not allowed on this path"
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge, "the request body is over the size limit"
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType, "the request body must be application/json"
	case http.StatusTooManyRequests:
		return CodeOverloaded, "too many requests; retry later"
	case http.StatusServiceUnavailable:
		return CodeUnavailable, "a dependency is unavailable; retry later"
	}
	if status >= 500 {
		return CodeInternal, "internal error; see the server log with this request id"
	}
	return CodeError, http.StatusText(status)
}
