// Package inventory owns what can be rented: regions, SKUs (priced GPU
// shapes), nodes with their two states (observed status, admin-set
// admin_state) and their GPU devices, and how many more allocations of each
// SKU fit now. It never dials a node: what a node has comes from its agent.
package inventory
