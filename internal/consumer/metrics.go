package consumer

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	handled     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		handled: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_consumer_handled_total",
			Help: "Event deliveries handled, by consumer and result (ok, retry, dead_letter, aborted, skipped, error).",
		}, []string{"consumer", "result"})),
		deadLetters: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_consumer_dead_letters_total",
			Help: "Events a consumer gave up on and recorded in dead_letters.",
		}, []string{"consumer"})),
	}
}

func (m *metrics) result(consumer, result string) {
	m.handled.WithLabelValues(consumer, result).Inc()
}

// register adds c to reg, or returns the collector already there, so the
// consumers of one process share their metrics.
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
