package server

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/mailproof/mailproof/handlers"
)

// httpMetrics counts requests per listener and route template; raw URLs and methods
// outside HTTP's standard set never become label values, so a scanner hitting random
// paths or methods cannot blow up the series count.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// children caches each label combination's counter and histogram (routeKey to
	// routeMetrics): WithLabelValues hashes four values and takes a lock on every
	// call, ~0.5 µs per request for both, where a cache hit costs a tenth of that.
	children sync.Map
}

type routeKey struct {
	listener, method, route string
	status                  int
}

type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *httpMetrics) route(k routeKey) routeMetrics {
	if v, ok := m.children.Load(k); ok {
		return v.(routeMetrics)
	}
	rm := routeMetrics{
		requests: m.requests.WithLabelValues(k.listener, k.method, k.route, strconv.Itoa(k.status)),
		duration: m.duration.WithLabelValues(k.listener, k.route),
	}
	v, _ := m.children.LoadOrStore(k, rm)
	return v.(routeMetrics)
}

// methodLabel is the method as a label value: the standard ones, else "other".
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_http_requests_total",
			Help: "HTTP requests answered, by listener, method, route template and status code.",
		}, []string{"listener", "method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mailproof_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by listener and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"listener", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// newEcho builds one Echo instance with the middleware every listener shares: request
// id, panic recovery, a zap request log, request metrics, a body limit and the JSON error
// handler.
func newEcho(listener string, bodyLimit int64, log *zap.Logger, m *httpMetrics) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(middleware.RequestID())
	e.Use(requestLog(listener, log, m))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.Error("panic while handling a request; this is a bug, please report it",
				zap.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				zap.String("route", c.Path()), zap.Error(err), zap.ByteString("stack", stack))
			return err
		},
	}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: strconv.FormatInt(bodyLimit, 10) + "B",
		// The receiver enforces the same limit itself, so that an oversized event is
		// counted and timed under its own outcome (body_too_large) like every other.
		Skipper: func(c echo.Context) bool { return c.Path() == postLoginPath },
	}))
	return e
}

// newMainEcho is the main listener's Echo with the configured body limit (see
// newVerifier for why it is a function of its own).
func newMainEcho(cfg Config, log *zap.Logger, m *httpMetrics) *echo.Echo {
	return newEcho("main", cfg.BodyLimit, log, m)
}

// requestLog logs and measures every request after the error handler has written it, so
// the status it records is the one the client saw.
func requestLog(listener string, log *zap.Logger, m *httpMetrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := c.Response().Status
			elapsed := time.Since(start)
			rm := m.route(routeKey{listener, methodLabel(c.Request().Method), route, status})
			rm.requests.Inc()
			rm.duration.Observe(elapsed.Seconds())
			if listener == "ops" && status < 400 {
				return nil // probes every few seconds would drown the log
			}
			lvl, msg := zap.DebugLevel, "request"
			switch {
			case status >= 500:
				lvl, msg = zap.ErrorLevel, "request failed"
			case status >= 400:
				lvl, msg = zap.InfoLevel, "request rejected"
			}
			// Check first: building the fields costs more than the rest of a successful
			// webhook request's logging, and debug is off in production.
			ce := log.Check(lvl, msg)
			if ce == nil {
				return nil
			}
			fields := []zap.Field{
				zap.String("listener", listener),
				zap.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				zap.String("method", c.Request().Method),
				zap.String("route", route),
				zap.Int("status", status),
				zap.Duration("latency", elapsed),
				zap.String("remote_ip", c.RealIP()),
			}
			var he *echo.HTTPError
			if errors.As(err, &he) && he.Internal != nil {
				fields = append(fields, zap.NamedError("cause", he.Internal))
			} else if err != nil && he == nil {
				fields = append(fields, zap.Error(err))
			}
			ce.Write(fields...)
			return nil
		}
	}
}

// errorHandler writes every error as {"error":{"code","message"}}. Only handlers.Error
// values and echo's own status errors shape the body; any other error text stays in the
// log, because it may hold Redis addresses, SDK messages or user data.
func errorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status := http.StatusInternalServerError
		var body handlers.Error
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			if e, ok := he.Message.(handlers.Error); ok {
				body = e
			}
		}
		if body.Code == "" {
			body.Code, body.Message = handlers.DefaultCode(status)
		}
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, handlers.ErrorBody{Error: body})
		}
		if werr != nil {
			log.Warn("could not write error response", zap.Error(werr))
		}
	}
}
