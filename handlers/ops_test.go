package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

func TestReadyz(t *testing.T) {
	pass := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errors.New("redis does not answer PING") }
	warn := func(context.Context) error { return Warn(errors.New("Redis runs without AOF")) }
	wrapped := func(context.Context) error { return fmt.Errorf("durability: %w", Warn(errors.New("unknown"))) }
	tests := []struct {
		name       string
		checks     []Check
		wantStatus int
		wantWord   string
		want       map[string]CheckResult
	}{
		{"all pass", []Check{{"redis", pass}, {"worker", pass}}, http.StatusOK, "ready",
			map[string]CheckResult{"redis": {OK: true}, "worker": {OK: true}}},
		{"a warning stays ready", []Check{{"redis", pass}, {"redis_durability", warn}}, http.StatusOK, "ready",
			map[string]CheckResult{"redis": {OK: true}, "redis_durability": {OK: true, Warning: "Redis runs without AOF"}}},
		{"a wrapped warning is still one", []Check{{"redis_durability", wrapped}}, http.StatusOK, "ready",
			map[string]CheckResult{"redis_durability": {OK: true, Warning: "durability: unknown"}}},
		{"a failure is not ready", []Check{{"redis", fail}, {"worker", pass}}, http.StatusServiceUnavailable, "not_ready",
			map[string]CheckResult{"redis": {Error: "redis does not answer PING"}, "worker": {OK: true}}},
		{"a failure beside a warning", []Check{{"redis", fail}, {"redis_durability", warn}}, http.StatusServiceUnavailable, "not_ready",
			map[string]CheckResult{"redis": {Error: "redis does not answer PING"}, "redis_durability": {OK: true, Warning: "Redis runs without AOF"}}},
	}
	for _, tc := range tests {
		e := echo.New()
		e.GET("/readyz", Readyz(time.Second, tc.checks...))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.wantStatus)
		}
		var got struct {
			Status string                 `json:"status"`
			Checks map[string]CheckResult `json:"checks"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: decode %s: %v", tc.name, rec.Body, err)
		}
		if got.Status != tc.wantWord {
			t.Errorf("%s: status word %q, want %q", tc.name, got.Status, tc.wantWord)
		}
		for name, want := range tc.want {
			if got.Checks[name] != want {
				t.Errorf("%s: check %s %+v, want %+v", tc.name, name, got.Checks[name], want)
			}
		}
	}
}
