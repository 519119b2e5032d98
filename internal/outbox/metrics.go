package outbox

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/prom"
)

type metrics struct {
	published prometheus.Counter
	errors    prometheus.Counter
	lag       prometheus.Histogram
	pending   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		published: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_outbox_published_total", Help: "Outbox events published to JetStream and marked sent.",
		})),
		errors: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_outbox_relay_errors_total", Help: "Relay batches rolled back (database or NATS failure); their rows are retried.",
		})),
		lag: prom.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuaas_outbox_publish_lag_seconds",
			Help:    "From an event's outbox insert to its publish ack, on the database clock.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		})),
		pending: prom.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_outbox_pending", Help: "Outbox rows not yet published, sampled every few seconds.",
		})),
	}
}
