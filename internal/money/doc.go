// Package money renders amounts held in integer minor units for people:
// "USD 2.49", "JPY 300", "KWD 1.250". It owns the table of how many minor
// digits each currency has. It never parses or computes with floats.
package money
