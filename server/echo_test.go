package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/mailproof/mailproof/handlers"
)

func TestErrorHandlerShapesAndHidesInternals(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	e := newEcho("main", 1024, zap.New(core), newHTTPMetrics(prometheus.NewRegistry()))
	const secretish = "dial tcp 10.0.0.7:6379: password=hunter2"
	e.GET("/internal", func(c echo.Context) error { return errors.New(secretish) })
	e.GET("/wrapped", func(c echo.Context) error {
		return handlers.NewError(http.StatusServiceUnavailable, "unavailable", "the event store is unavailable").WithInternal(errors.New(secretish))
	})
	e.GET("/panic", func(c echo.Context) error { panic(secretish) })
	e.POST("/echo", func(c echo.Context) error {
		_, err := io.ReadAll(c.Request().Body)
		return err
	})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"plain error becomes 500", "GET", "/internal", "", 500, "internal"},
		{"handler error keeps its code", "GET", "/wrapped", "", 503, "unavailable"},
		{"panic is recovered", "GET", "/panic", "", 500, "internal"},
		{"unknown route", "GET", "/nope", "", 404, "not_found"},
		{"wrong method", "DELETE", "/internal", "", 405, "method_not_allowed"},
		{"body over limit", "POST", "/echo", strings.Repeat("x", 2048), 413, "body_too_large"},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.wantStatus)
		}
		var body handlers.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s: body %q is not the JSON error shape: %v", tc.name, rec.Body, err)
			continue
		}
		if body.Error.Code != tc.wantCode || body.Error.Message == "" {
			t.Errorf("%s: error %+v, want code %q and a message", tc.name, body.Error, tc.wantCode)
		}
		if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "10.0.0.7") {
			t.Errorf("%s: internal error text reached the response: %s", tc.name, rec.Body)
		}
		if rec.Header().Get(echo.HeaderXRequestID) == "" {
			t.Errorf("%s: no X-Request-Id on the response", tc.name)
		}
	}
	if n := logs.FilterMessage("panic while handling a request; this is a bug, please report it").Len(); n != 1 {
		t.Errorf("panic logged %d times, want 1", n)
	}
}

// TestRequestMetricsLabels: a method outside HTTP's standard set is counted as "other",
// so random methods cannot add series, and repeated requests land on the same series.
func TestRequestMetricsLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEcho("main", 1024, zap.NewNop(), newHTTPMetrics(reg))
	e.GET("/ok", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, method := range []string{"GET", "GET", "FOOBAR", "BAZ", "DELETE"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/ok", nil))
	}
	tests := []struct {
		method string
		want   float64
	}{
		{"GET", 2},
		{"other", 2},
		{"DELETE", 1},
		{"FOOBAR", -1},
		{"BAZ", -1},
	}
	for _, tc := range tests {
		if got := metricValue(t, reg, "mailproof_http_requests_total", "method", tc.method); got != tc.want {
			t.Errorf("mailproof_http_requests_total{method=%q} = %v, want %v", tc.method, got, tc.want)
		}
	}
	if got := metricValue(t, reg, "mailproof_http_request_duration_seconds", "route", "/ok"); got != 5 {
		t.Errorf("mailproof_http_request_duration_seconds{route=\"/ok\"} counted %v requests, want 5", got)
	}
}
