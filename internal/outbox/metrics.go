package outbox

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published prometheus.Counter
	errors    prometheus.Counter
	lag       prometheus.Histogram
	pending   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		published: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_outbox_published_total", Help: "Outbox events published to JetStream and marked sent.",
		})),
		errors: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_outbox_relay_errors_total", Help: "Relay batches rolled back (database or NATS failure); their rows are retried.",
		})),
		lag: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuaas_outbox_publish_lag_seconds",
			Help:    "From an event's outbox insert to its publish ack, on the database clock.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		})),
		pending: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_outbox_pending", Help: "Outbox rows not yet published, sampled every few seconds.",
		})),
	}
}

// register adds c to reg, or returns the collector already there, so
// several relays in one process (tests, replicas) share their metrics.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
