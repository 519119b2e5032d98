package consumer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/prom"
)

type metrics struct {
	handled     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		handled: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_consumer_handled_total",
			Help: "Event deliveries handled, by consumer and result (ok, retry, dead_letter, aborted, error).",
		}, []string{"consumer", "result"})),
		deadLetters: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_consumer_dead_letters_total",
			Help: "Events a consumer gave up on and recorded in dead_letters.",
		}, []string{"consumer"})),
	}
}

func (m *metrics) result(consumer, result string) {
	m.handled.WithLabelValues(consumer, result).Inc()
}
