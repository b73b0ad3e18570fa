package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mailproof/mailproof/store"
)

// backlogSource is where the backlog gauges are read from.
type backlogSource interface {
	QueueStats(ctx context.Context) (store.Stats, error)
}

var _ backlogSource = (*store.Redis)(nil)

// backlogCollector exports the queue's backlog, read from Redis when Prometheus scrapes:
// one pipelined round trip per scrape (store.QueueStats) and nothing between scrapes.
// The numbers are the shared queue's, so every replica reports the same ones; aggregate
// with max, not sum. A scrape when Redis does not answer within the timeout leaves the
// gauges out and counts mailproof_backlog_scrape_errors_total; the rest of /metrics is
// served as usual.
type backlogCollector struct {
	src     backlogSource
	timeout time.Duration

	queued, oldest, delayed, dead, pending *prometheus.Desc
	errors                                 prometheus.Counter
}

// newBacklogCollector reads src within timeout on every scrape.
func newBacklogCollector(src backlogSource, timeout time.Duration) *backlogCollector {
	return &backlogCollector{
		src:     src,
		timeout: timeout,
		queued:  prometheus.NewDesc("mailproof_queue_jobs", "Jobs on the queue, waiting or being worked on (shared by every replica: aggregate with max).", nil, nil),
		oldest:  prometheus.NewDesc("mailproof_queue_oldest_job_age_seconds", "How long the oldest job on the queue, waiting or in flight, has been there by Redis's clock (a retried job's since it came back); 0 when the queue is empty.", nil, nil),
		delayed: prometheus.NewDesc("mailproof_queue_delayed_jobs", "Jobs waiting out a retry backoff or a deferral before they go back on the queue.", nil, nil),
		dead:    prometheus.NewDesc("mailproof_dead_letters", "Jobs in the dead-letter stream (mailproof dlq list; capped at about 10,000).", nil, nil),
		pending: prometheus.NewDesc("mailproof_pending_records", "Users waiting for mailbox proof (the pending index; records expired since the last listing included).", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mailproof_backlog_scrape_errors_total",
			Help: "Scrapes whose backlog gauges could not be read from Redis within MAILPROOF_REDIS_TIMEOUT; those scrapes leave the gauges out.",
		}),
	}
}

// Describe sends every metric the collector may produce.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queued, c.oldest, c.delayed, c.dead, c.pending} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect reads the backlog in one round trip and sends it.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s, err := c.src.QueueStats(ctx)
	if err != nil {
		c.errors.Inc()
	} else {
		for _, g := range []struct {
			d *prometheus.Desc
			v float64
		}{
			{c.queued, float64(s.Queued)},
			{c.oldest, s.OldestQueuedSeconds},
			{c.delayed, float64(s.Delayed)},
			{c.dead, float64(s.Dead)},
			{c.pending, float64(s.Pending)},
		} {
			ch <- prometheus.MustNewConstMetric(g.d, prometheus.GaugeValue, g.v)
		}
	}
	c.errors.Collect(ch)
}
