// Package agent is the node agent: it proves who it is (trading a one-time
// join token for a node credential kept in --data-dir, mode 0600), dials
// the control plane (it never listens), keeps one multiplexed connection
// up with jittered reconnects, and reports its GPUs and health in every
// heartbeat at the interval the server sets.
//
// Runtimes that execute allocations on the node (process, sim) plug in
// here with the task streams of the next protocol version.
package agent
