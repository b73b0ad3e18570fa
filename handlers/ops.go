package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Check is one readiness condition: a name operators see and a probe that returns nil
// when the condition holds.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// CheckResult is how one check fared, as /readyz reports it.
type CheckResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
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
// The error strings come from mailproof's own probes, which describe the condition and
// carry no secrets.
func Readyz(timeout time.Duration, checks ...Check) echo.HandlerFunc {
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
