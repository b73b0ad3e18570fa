package proof

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SweepMetrics are the reconcile sweep's metrics. A nil *SweepMetrics counts nothing.
type SweepMetrics struct {
	runs        *prometheus.CounterVec
	records     *prometheus.CounterVec
	calls       *prometheus.CounterVec
	duration    prometheus.Histogram
	lastOK      prometheus.Gauge
	intervalSec prometheus.Gauge
}

// NewSweepMetrics registers the sweep's metrics with reg.
func NewSweepMetrics(reg prometheus.Registerer) (*SweepMetrics, error) {
	m := &SweepMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_reconcile_runs_total",
			Help: "Reconcile sweep runs on this replica, by path (search, export) and result: ok, failed (resumed from its cursor by the next run), busy (another replica held the lock).",
		}, []string{"path", "result"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_reconcile_records_total",
			Help: "Users the sweep found, by what it did: queued (a job for the worker, whose outcome mailproof_reconcile_jobs_total counts), already_queued, not_pending, expired, or the reason they still wait (no_password_reset, no_login_since_reset).",
		}, []string{"result"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_reconcile_calls_total",
			Help: "Management API calls the sweep made itself, by kind: search, export, export_poll. The calls of the jobs it queued are mailproof_reconcile_job_calls_total.",
		}, []string{"call"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mailproof_reconcile_duration_seconds",
			Help:    "How long a sweep run took to find and queue its candidates (the jobs run after).",
			Buckets: prometheus.ExponentialBuckets(0.1, 3, 10),
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mailproof_reconcile_last_success_timestamp_seconds",
			Help: "When the last sweep run completed, on any replica (read from Redis); 0 before the first.",
		}),
		intervalSec: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mailproof_reconcile_interval_seconds",
			Help: "MAILPROOF_RECONCILE_INTERVAL in seconds; 0 when the scheduled sweep is off.",
		}),
	}
	for _, c := range []prometheus.Collector{m.runs, m.records, m.calls, m.duration, m.lastOK, m.intervalSec} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *SweepMetrics) run(path, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(path, result).Inc()
	if result != "busy" {
		m.duration.Observe(took.Seconds())
	}
}

func (m *SweepMetrics) report(r SweepReport) {
	if m == nil {
		return
	}
	for res, n := range r.Results {
		m.records.WithLabelValues(res).Add(float64(n))
	}
	for call, n := range r.Calls {
		m.calls.WithLabelValues(call).Add(float64(n))
	}
}

func (m *SweepMetrics) lastSuccess(t time.Time) {
	if m == nil || t.IsZero() {
		return
	}
	m.lastOK.Set(float64(t.UnixMilli()) / 1000)
}

func (m *SweepMetrics) interval(d time.Duration) {
	if m != nil {
		m.intervalSec.Set(d.Seconds())
	}
}
