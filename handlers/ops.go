package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Check is one readiness condition: a name operators see and a probe that returns nil
// when the condition holds. A probe may return Warn(err) for a condition the person on
// call must know about but that does not stop mailproof from working.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// CheckResult is how one check fared, as /readyz reports it. A check that passed with a
// warning is OK and carries the Warning text.
type CheckResult struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// Warn marks a probe's error as a warning: /readyz and the status page show it, and
// readiness does not fail because of it.
func Warn(err error) error { return warning{err} }

type warning struct{ error }

func (w warning) Unwrap() error { return w.error }

// result turns a probe's answer into its CheckResult.
func result(err error) CheckResult {
	var w warning
	switch {
	case err == nil:
		return CheckResult{OK: true}
	case errors.As(err, &w):
		return CheckResult{OK: true, Warning: err.Error()}
	}
	return CheckResult{Error: err.Error()}
}

// Healthz answers 200 while the process can serve HTTP at all; it checks nothing else so
// that an orchestrator never restarts mailproof because Redis or Auth0 is down.
func Healthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "alive"})
	}
}

// Readyz runs every check in parallel with a short deadline and answers 200 only when all
// pass, 503 otherwise, naming the failing check so the person on call knows where to look.
// Warnings appear in the checks and leave the answer 200.
// The error strings come from mailproof's own probes, which describe the condition and
// carry no secrets.
func Readyz(timeout time.Duration, checks ...Check) echo.HandlerFunc {
	timeout = checkTimeout(timeout)
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
		defer cancel()
		results := runChecks(ctx, checks)
		status, word := http.StatusOK, "ready"
		for _, r := range results {
			if !r.OK {
				status, word = http.StatusServiceUnavailable, "not_ready"
			}
		}
		return c.JSON(status, map[string]any{"status": word, "checks": results})
	}
}

// defaultCheckTimeout bounds the readiness checks when the caller gives no timeout: a
// zero deadline would fail every check at once.
const defaultCheckTimeout = 2 * time.Second

func checkTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultCheckTimeout
	}
	return d
}
