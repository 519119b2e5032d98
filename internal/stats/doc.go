// Package stats reads the operator's at-a-glance numbers: current values of
// series in the Prometheus registry, and allocations by status as a
// scrape-time collector over the database.
package stats
