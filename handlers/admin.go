package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// AdminAuth guards the admin API with one static bearer token (MAILPROOF_ADMIN_TOKEN).
//
// With no token configured the admin API is off, and its routes answer 404 not_found as
// if they did not exist: an unconfigured deployment should not advertise an endpoint
// that asks for credentials. Otherwise a request needs `Authorization: Bearer <token>`
// (the scheme is case-insensitive, RFC 9110); a missing, malformed or wrong token gets
// 401 unauthorized with a WWW-Authenticate challenge.
//
// The comparison is on SHA-256 digests of both tokens with crypto/subtle: equal-length
// inputs make it constant time, so neither the token's content nor its length leaks
// through response timing.
func AdminAuth(token string) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				code, msg := DefaultCode(http.StatusNotFound)
				return NewError(http.StatusNotFound, code, msg)
			}
			got, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="mailproof"`)
				return NewError(http.StatusUnauthorized, CodeUnauthorized, "the admin API needs an Authorization: Bearer header with the admin token")
			}
			sum := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="mailproof", error="invalid_token"`)
				return NewError(http.StatusUnauthorized, CodeUnauthorized, "the admin token is not valid")
			}
			return next(c)
		}
	}
}

// bearerToken extracts the credentials of a Bearer Authorization header value.
func bearerToken(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}

// userIDParam returns the :user_id path segment decoded. Echo matches routes on the raw
// path when the request's escaping differs from Go's default (an escaped slash, say), and
// its parameters are then still escaped; otherwise they come from the decoded path and
// must not be decoded twice.
func userIDParam(c echo.Context) (string, error) {
	uid := c.Param("user_id")
	if c.Request().URL.RawPath != "" {
		var err error
		if uid, err = url.PathUnescape(uid); err != nil {
			return "", NewError(http.StatusBadRequest, CodeBadRequest, "the user id in the path is not validly escaped")
		}
	}
	if uid == "" {
		return "", NewError(http.StatusBadRequest, CodeBadRequest, "the user id in the path is empty")
	}
	return uid, nil
}

// retryAfter is the whole seconds until reset, at least one.
func retryAfter(reset time.Time) int {
	return max(1, int(math.Ceil(time.Until(reset).Seconds())))
}

// storeUnavailable is the answer when Redis does not answer.
func storeUnavailable(err error) error {
	return NewError(http.StatusServiceUnavailable, CodeUnavailable, "the record store is unavailable; retry later").WithInternal(err)
}
