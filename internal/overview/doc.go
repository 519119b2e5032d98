// Package overview owns the admin dashboard's numbers: users, nodes by
// state, GPUs by state, allocations by status and the last 24 hours of usage
// revenue, each read with one aggregate query.
package overview
