// Package inventory owns what can be rented: regions, SKUs (priced GPU
// shapes), nodes with their two states (observed status, admin-set
// admin_state) and their GPU devices, and how many more allocations of each
// SKU fit now. It is the one writer of nodes and GPUs (Liveness: heartbeats,
// batched liveness stamps, GPU reports and health, the offline sweep and
// its grace), except the reservation of GPUs, which the allocation
// lifecycle takes in its create transaction. It never dials a node: what a
// node has comes from its agent, through the agent gateway.
package inventory
