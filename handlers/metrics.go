package handlers

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailproof/mailproof/webhook"
)

// Metrics are the receiver's and worker's counters. Label values come from closed sets
// (outcome codes, signature reasons, key ids), never from request data.
type Metrics struct {
	events            *prometheus.CounterVec
	ingestSeconds     *prometheus.HistogramVec
	signatureFailures *prometheus.CounterVec
	keyMatches        *prometheus.CounterVec

	// Children resolved once for the label values known up front: WithLabelValues
	// hashes the values and takes a lock on every call, ~0.1-0.3 µs each, three times
	// per event. Read-only after NewMetrics.
	outcomes map[string]outcomeMetrics
	keys     map[string]prometheus.Counter
}

type outcomeMetrics struct {
	events  prometheus.Counter
	seconds prometheus.Observer
}

// NewMetrics registers the handlers' metrics on reg and pre-declares every label value
// that is known up front, so dashboards show zeros instead of gaps.
func NewMetrics(reg prometheus.Registerer, keyIDs []string) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_events_total",
			Help: "Post-login events received, by outcome (queued, duplicate, not_pending, invalid_signature, stale_timestamp, invalid_event, body_too_large, unsupported_media_type, unavailable).",
		}, []string{"outcome"}),
		ingestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mailproof_ingest_duration_seconds",
			Help:    "Time from receiving a post-login event to answering it, by outcome.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"outcome"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_signature_failures_total",
			Help: "Post-login events rejected by the signature check, by reason.",
		}, []string{"reason"}),
		keyMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mailproof_signature_key_matches_total",
			Help: "Verified events by the configured key that matched (key_id is a hash, never the key); a key at zero for a while can be retired.",
		}, []string{"key_id"}),
	}
	reg.MustRegister(m.events, m.ingestSeconds, m.signatureFailures, m.keyMatches)
	m.outcomes = make(map[string]outcomeMetrics)
	for _, o := range eventOutcomes {
		m.outcomes[o] = outcomeMetrics{m.events.WithLabelValues(o), m.ingestSeconds.WithLabelValues(o)}
	}
	for _, r := range webhook.Reasons() {
		m.signatureFailures.WithLabelValues(r)
	}
	m.keys = make(map[string]prometheus.Counter, len(keyIDs))
	for _, k := range keyIDs {
		m.keys[k] = m.keyMatches.WithLabelValues(k)
	}
	return m
}

// observeEvent counts one answered event and its time by outcome.
func (m *Metrics) observeEvent(outcome string, seconds float64) {
	om, ok := m.outcomes[outcome]
	if !ok {
		om = outcomeMetrics{m.events.WithLabelValues(outcome), m.ingestSeconds.WithLabelValues(outcome)}
	}
	om.events.Inc()
	om.seconds.Observe(seconds)
}

// keyMatched counts a verified event by the key that matched.
func (m *Metrics) keyMatched(keyID string) {
	c, ok := m.keys[keyID]
	if !ok {
		c = m.keyMatches.WithLabelValues(keyID)
	}
	c.Inc()
}
