// Package prom holds the one helper every package uses to put its
// Prometheus collectors on the process's registry. It owns no metrics.
package prom
