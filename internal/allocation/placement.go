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
func (s *Service) place(ctx context.Context, tx *store.Store, sku db.Sku, p db.PlaceAllocationParams) (db.Allocation, error) {
	if p.Runtime == "" {
		p.Runtime = RuntimeProcess
	}
	key := candidateKey{region: sku.Region, model: sku.GpuModel, count: sku.GpuCount, runtime: p.Runtime}
	p.Model, p.GpuCount = sku.GpuModel, sku.GpuCount
	nodes, cached := s.candidates.get(key)
	for {
		if !cached {
			var err error
			nodes, err = tx.PlacementCandidates(ctx, db.PlacementCandidatesParams{
				Region: sku.Region, Model: sku.GpuModel, GpuCount: sku.GpuCount, Runtime: p.Runtime,
			})
			if err != nil {
				return db.Allocation{}, fmt.Errorf("find placement candidates: %w", err)
			}
			s.candidates.put(key, nodes)
			s.placementScans.Inc()
		}
		spread := rand.IntN(min(len(nodes), placementSpread) + 1)
		for _, node := range append(nodes[spread:], nodes[:spread]...) {
			p.NodeID = node
			row, err := tx.PlaceAllocation(ctx, p)
			if store.IsNoRows(err) {
				s.candidates.drop(key, node) // full, raced away, or out of service
				continue
			}
			if err != nil {
				return db.Allocation{}, fmt.Errorf("place allocation on node %s: %w", node, err)
			}
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

// candidateKey is what a candidate list answers for: nodes of a region
// with count free GPUs of a model whose agent offers a runtime.
type candidateKey struct {
	region, model, runtime string
	count                  int32
}

// candidateCache holds, per region, GPU model, count and runtime, the nodes a
// create tries, best fit first, for candidateTTL. It is a hint: placement
// checks every node in the database (see place), drops nodes found short,
// and reads the fleet again when the hint runs out. Each replica keeps its
// own.
type candidateCache struct {
	mu    sync.Mutex
	lists map[candidateKey]candidateList
}

type candidateList struct {
	nodes  []uuid.UUID
	loaded time.Time
}

func newCandidateCache() *candidateCache {
	return &candidateCache{lists: map[candidateKey]candidateList{}}
}

// get returns a copy of key's list while it is fresh and not empty.
func (c *candidateCache) get(key candidateKey) ([]uuid.UUID, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.lists[key]
	if !ok || len(l.nodes) == 0 || time.Since(l.loaded) >= candidateTTL {
		return nil, false
	}
	return slices.Clone(l.nodes), true
}

func (c *candidateCache) put(key candidateKey, nodes []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists[key] = candidateList{nodes: slices.Clone(nodes), loaded: time.Now()}
}

// drop removes node from key's list.
func (c *candidateCache) drop(key candidateKey, node uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.lists[key]; ok {
		l.nodes = slices.DeleteFunc(l.nodes, func(n uuid.UUID) bool { return n == node })
		c.lists[key] = l
	}
}
