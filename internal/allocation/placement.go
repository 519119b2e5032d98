package allocation

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// placementSpread is how many of the best-fitting nodes concurrent creates
// are spread over.
const placementSpread = 4

// firstTry is which of n candidate nodes (best fit first) a create tries
// first: a random one of the first placementSpread, so concurrent creates
// do not all queue on one node.
func firstTry(n int) int {
	if n == 0 {
		return 0
	}
	return rand.IntN(min(n, placementSpread))
}

// placedGPU is a device reserved for an allocation, as the allocation's
// gpus column holds it: {index, uuid} (PlaceAllocation writes it).
type placedGPU struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
}

// candidateTTL bounds how long a cached candidate list is used: capacity
// that appears without a create seeing it (GPUs freed, a node back online
// or enabled, a new node) is tried in best-fit order within this time.
const candidateTTL = 2 * time.Second

// place records a new allocation of sku for p's user on one online, active
// node of the SKU's region with sku.GpuCount healthy free GPUs of its
// model, and reserves those GPUs, inside tx.
//
// Candidates come fullest-first (best fit) from the candidate cache,
// starting at a random one of the first few: each reservation updates its
// node's capacity row, so creates that all chose the same node would queue
// on that row. Each candidate is tried with one statement
// (PlaceAllocation) that holds the node FOR SHARE, takes its free GPUs FOR
// UPDATE SKIP LOCKED, inserts the allocation and reserves them: the
// database decides, so a stale list can cost a wasted try but never a
// double booking. A node that turns out to be short is dropped from the
// cache; when every cached node is short, the fleet is read again before
// the create is refused, so the cache never turns a free GPU into
// insufficient_capacity.
//
// The cache counts down what this replica places and drops a node it has
// filled, so best fit's packing does not cost each full node a wasted try.
func (s *Service) place(ctx context.Context, tx *store.Store, sku db.Sku, p db.PlaceAllocationParams) (db.Allocation, error) {
	if p.Runtime == "" {
		p.Runtime = RuntimeProcess
	}
	key := candidateKey{region: sku.Region, model: sku.GpuModel, count: sku.GpuCount, runtime: p.Runtime}
	p.Model, p.GpuCount = sku.GpuModel, sku.GpuCount
	nodes, cached := s.candidates.get(key)
	for {
		if !cached {
			rows, err := tx.PlacementCandidates(ctx, db.PlacementCandidatesParams{
				Region: sku.Region, Model: sku.GpuModel, GpuCount: sku.GpuCount, Runtime: p.Runtime,
			})
			if err != nil {
				return db.Allocation{}, fmt.Errorf("find placement candidates: %w", err)
			}
			nodes = make([]candidate, len(rows))
			for i, r := range rows {
				nodes[i] = candidate{node: r.NodeID, free: r.Free}
			}
			s.candidates.put(key, nodes)
			s.placementScans.Inc()
		}
		first := firstTry(len(nodes))
		for _, c := range append(nodes[first:], nodes[:first]...) {
			p.NodeID = c.node
			row, err := tx.PlaceAllocation(ctx, p)
			if store.IsNoRows(err) {
				s.placementMisses.Inc()
				s.candidates.drop(key, c.node) // full, raced away, or out of service
				continue
			}
			if err != nil {
				return db.Allocation{}, fmt.Errorf("place allocation on node %s: %w", c.node, err)
			}
			s.candidates.took(key, c.node)
			return db.Allocation(row), nil
		}
		if !cached {
			if p.Runtime != RuntimeProcess {
				return db.Allocation{}, apperr.Conflict(CodeInsufficientCapacity,
					"no node with the %s runtime has %d free %s GPUs in %s right now", p.Runtime, sku.GpuCount, sku.GpuModel, sku.Region)
			}
			return db.Allocation{}, apperr.Conflict(CodeInsufficientCapacity,
				"no node has %d free %s GPUs in %s right now", sku.GpuCount, sku.GpuModel, sku.Region)
		}
		cached = false // every cached node was short: read the fleet before refusing
	}
}

// earlyPlacement is a placement sent with a create's first reads, before
// this transaction has read the SKU: from the SKU as an earlier create read
// it (skuHints) and a node from the candidate cache. It saves the create
// the round trip of its own placement. It is safe because
// PlaceAllocation itself checks the SKU: a SKU that changed since (price,
// model, count, region, deactivated) places nothing, as does a node found
// short, and the create then places as usual. Everything the create
// checks after its reads (suspension, runway, limits, keys) still decides:
// a refusal rolls the placement back with the rest of the transaction. It
// is sent after the reads that lock the user and the account, so locks
// are taken in the same order as before.
type earlyPlacement struct {
	key  candidateKey
	p    db.PlaceAllocationParams
	read func(q *db.Queries) error // the statement, for the create's reads
	row  db.PlaceAllocationRow
	err  error
}

// placeEarly returns the early placement of p (SKU, user, name, keys and
// runtime set), or nil when no earlier create read the SKU or no
// candidate list is cached for it.
func (s *Service) placeEarly(ctx context.Context, p db.PlaceAllocationParams) *earlyPlacement {
	sku, ok := s.skus.get(p.SkuID)
	if !ok {
		return nil
	}
	key := candidateKey{region: sku.Region, model: sku.GpuModel, count: sku.GpuCount, runtime: p.Runtime}
	nodes, ok := s.candidates.get(key)
	if !ok {
		return nil
	}
	p.NodeID = nodes[firstTry(len(nodes))].node
	p.Model, p.GpuCount = sku.GpuModel, sku.GpuCount
	p.PricePerHourMinor, p.Currency = sku.PricePerHourMinor, sku.Currency
	e := &earlyPlacement{key: key, p: p}
	e.read = func(q *db.Queries) error {
		e.row, e.err = q.PlaceAllocation(ctx, e.p)
		return nil
	}
	return e
}

// placed is the allocation e placed, or nil.
func (e *earlyPlacement) placed() uuid.UUID {
	if e == nil || e.err != nil {
		return uuid.Nil
	}
	return e.row.ID
}

// outcome is what became of e (nil: none was sent) for a create of sku
// as this transaction read it: the allocation and true when e placed it,
// false when the create should place it as usual.
func (e *earlyPlacement) outcome(s *Service, sku db.Sku) (db.Allocation, bool, error) {
	switch {
	case e == nil:
		return db.Allocation{}, false, nil
	case store.IsNoRows(e.err):
		// Place as usual. When the SKU was as hinted, the node was short,
		// and it leaves the cached list as a short node does in place.
		s.placementMisses.Inc()
		if e.from(sku) {
			s.candidates.drop(e.key, e.p.NodeID)
		}
		return db.Allocation{}, false, nil
	case e.err != nil:
		return db.Allocation{}, false, fmt.Errorf("place allocation on node %s: %w", e.p.NodeID, e.err)
	}
	// The SKU read in this transaction must be the one placed from. Both
	// statements went in one round trip, so they differ only if the SKU
	// changed between them and then changed back before the placement.
	if !e.from(sku) {
		return db.Allocation{}, false, apperr.Unavailable("the SKU changed while this allocation was placed; try again")
	}
	s.candidates.took(e.key, e.p.NodeID)
	s.earlyPlaced.Inc()
	return db.Allocation(e.row), true, nil
}

// from says whether e was placed from sku as this transaction read it.
func (e *earlyPlacement) from(sku db.Sku) bool {
	return sku.Active && sku.Region == e.key.region && sku.GpuModel == e.p.Model && sku.GpuCount == e.p.GpuCount &&
		sku.PricePerHourMinor == e.p.PricePerHourMinor && sku.Currency == e.p.Currency
}

// skuHints keeps each SKU as the last create read it, for early
// placement. It only ever holds SKUs that exist, so it is as small as the
// catalogue.
type skuHints struct{ m sync.Map } // SKU id → db.Sku

func (h *skuHints) put(sku db.Sku) { h.m.Store(sku.ID, sku) }

func (h *skuHints) get(id string) (db.Sku, bool) {
	v, ok := h.m.Load(id)
	if !ok {
		return db.Sku{}, false
	}
	return v.(db.Sku), true
}

// candidateKey is what a candidate list answers for: nodes of a region
// with count free GPUs of a model whose agent offers a runtime.
type candidateKey struct {
	region, model, runtime string
	count                  int32
}

// candidateCache holds, per region, GPU model, count and runtime, the nodes a
// create tries, best fit first, with their free GPUs as last seen, for
// candidateTTL. It is a hint: placement checks every node in the database
// (see place), drops nodes found short, and reads the fleet again when the
// hint runs out. Each replica keeps its own, and counts down only its own
// placements.
type candidateCache struct {
	mu    sync.Mutex
	lists map[candidateKey]candidateList
}

type candidateList struct {
	nodes  []candidate
	loaded time.Time
}

// candidate is a node and its free GPUs of the key's model.
type candidate struct {
	node uuid.UUID
	free int32
}

func newCandidateCache() *candidateCache {
	return &candidateCache{lists: map[candidateKey]candidateList{}}
}

// get returns a copy of key's list while it is fresh and not empty.
func (c *candidateCache) get(key candidateKey) ([]candidate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[key]
	if !ok || len(l.nodes) == 0 || time.Since(l.loaded) >= candidateTTL {
		return nil, false
	}
	return slices.Clone(l.nodes), true
}

func (c *candidateCache) put(key candidateKey, nodes []candidate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists[key] = candidateList{nodes: slices.Clone(nodes), loaded: time.Now()}
}

// drop removes node from key's list.
func (c *candidateCache) drop(key candidateKey, node uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.lists[key]; ok {
		l.nodes = slices.DeleteFunc(l.nodes, func(n candidate) bool { return n.node == node })
		c.lists[key] = l
	}
}

// took counts a placement of key's GPU count on node off the node's free
// GPUs, and drops the node once it cannot take another.
func (c *candidateCache) took(key candidateKey, node uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[key]
	if !ok {
		return
	}
	for i := range l.nodes {
		if l.nodes[i].node != node {
			continue
		}
		if l.nodes[i].free -= key.count; l.nodes[i].free < key.count {
			l.nodes = slices.Delete(l.nodes, i, i+1)
		}
		break
	}
	c.lists[key] = l
}
