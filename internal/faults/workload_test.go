//go:build linux

package faults_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

// stats counts what happened, by name; safe for concurrent use.
type stats struct {
	mu sync.Mutex
	m  map[string]int
}

func (s *stats) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]int{}
	}
	s.m[k]++
}

func (s *stats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, s.m[k])
	}
	return strings.TrimSpace(b.String())
}

// outcome names an API answer for the counters: ok, an error code, or
// "transport" when no answer came (a replica died mid-request).
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := sdk.AsError(err); ok {
		return e.Code
	}
	return "transport"
}

type wuser struct {
	name string
	id   uuid.UUID
	cl   *sdk.Client
	live []uuid.UUID // created and not yet asked to release, as far as the harness knows
}

// workload drives users through the API with choices from its own seeded
// source, so a seed replays the same sequence of decisions (timings,
// and so what each decision meets, still vary).
type workload struct {
	c      *cluster
	rng    *rand.Rand
	users  []*wuser
	poor   *wuser // the depletion user: little credit, dear SKU
	poorID uuid.UUID
	ops    stats

	mu      sync.Mutex
	created []uuid.UUID // every allocation the API confirmed
}

func newWorkload(ctx context.Context, c *cluster, seed uint64, users int) *workload {
	w := &workload{c: c, rng: rand.New(rand.NewPCG(seed, 0x776f726b))}
	mk := func(name string, credit int64) *wuser {
		u, err := c.admin.AdminCreateUser(ctx, api.CreateUserRequest{Username: name, Email: name + "@example.com",
			Password: userPassword, Role: api.RoleUser})
		if err != nil {
			c.t.Fatalf("create user %s: %v", name, err)
		}
		if _, err := c.admin.AdminAdjustBalance(ctx, u.Id, api.AdjustBalanceRequest{AmountMinor: credit, Reason: "faults credit"},
			uuid.NewString()); err != nil {
			c.t.Fatalf("credit %s: %v", name, err)
		}
		return &wuser{name: name, id: u.Id, cl: c.signIn(ctx, name, userPassword)}
	}
	for i := range users {
		w.users = append(w.users, mk(fmt.Sprintf("faults-user-%d", i), 1_000_000))
	}
	w.poor = mk("faults-poor", depletionCredit)
	return w
}

// no500: the API answers a dependency's outage with 503 unavailable,
// never 500 (docs/architecture.md); every 500 the workload met is listed.
func (w *workload) no500() *check {
	c := &check{name: "the API never answered 500 internal (an outage is 503 unavailable)"}
	w.ops.mu.Lock()
	defer w.ops.mu.Unlock()
	for k, n := range w.ops.m {
		c.checked += n
		if strings.HasSuffix(k, "_internal") {
			c.fail(uuid.Nil, "%d × %s", n, k)
		}
	}
	sort.Strings(c.violations)
	return c
}

func (w *workload) allocations() []uuid.UUID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uuid.UUID(nil), w.created...)
}

// run does one step every 100-400 ms until ctx ends.
func (w *workload) run(ctx context.Context) {
	for ctx.Err() == nil {
		w.step(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(100+w.rng.IntN(300)) * time.Millisecond):
		}
	}
}

func (w *workload) step(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := w.users[w.rng.IntN(len(w.users))]
	switch r := w.rng.IntN(100); {
	case r < 35:
		if len(u.live) < 3 {
			w.create(rctx, u, skuCheap)
		}
	case r < 65:
		if id, ok := w.pick(u); ok {
			_, err := u.cl.ReleaseAllocation(rctx, id)
			w.ops.add("release_" + outcome(err))
		}
	case r < 75:
		if id, ok := w.pick(u); ok {
			_, err := w.c.admin.AdminForceRelease(rctx, id, "faults suite")
			w.ops.add("force_release_" + outcome(err))
		}
	case r < 80:
		_, err := w.c.admin.AdminAdjustBalance(rctx, u.id, api.AdjustBalanceRequest{AmountMinor: int64(1 + w.rng.IntN(10_000)),
			Reason: "faults top-up"}, uuid.NewString())
		w.ops.add("credit_" + outcome(err))
	case r < 90:
		w.deplete(rctx)
	default:
		_, err := u.cl.ListAllocations(rctx, api.ListAllocationsParams{})
		w.ops.add("list_" + outcome(err))
	}
}

// pick removes and returns one of u's live allocations: it is asked to
// release now, whatever the answer (the end of the run releases whatever
// is left).
func (w *workload) pick(u *wuser) (uuid.UUID, bool) {
	if len(u.live) == 0 {
		return uuid.Nil, false
	}
	i := w.rng.IntN(len(u.live))
	id := u.live[i]
	u.live = append(u.live[:i], u.live[i+1:]...)
	return id, true
}

// create asks for an allocation, retrying a lost answer with the same
// Idempotency-Key as a careful client would.
func (w *workload) create(ctx context.Context, u *wuser, sku string) (uuid.UUID, bool) {
	key := uuid.NewString()
	var a api.Allocation
	var err error
	for try := 0; try < 3; try++ {
		a, err = u.cl.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku}, key)
		if o := outcome(err); o != "transport" && o != "unavailable" {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
	w.ops.add("create_" + outcome(err))
	if err != nil {
		return uuid.Nil, false
	}
	u.live = append(u.live, a.Id)
	w.mu.Lock()
	w.created = append(w.created, a.Id)
	w.mu.Unlock()
	return a.Id, true
}

// deplete gives the depletion user, when it holds nothing, enough credit
// for one dear allocation of about 15 s, which billing must force-release
// when the balance runs out. Its allocations are never released by the
// harness before the end.
func (w *workload) deplete(ctx context.Context) {
	p := w.poor
	for _, id := range p.live {
		a, err := p.cl.GetAllocation(ctx, id)
		if err != nil {
			return
		}
		switch a.Status {
		case api.AllocationStatusReleased, api.AllocationStatusFailed, api.AllocationStatusReleaseFailed:
		default:
			return // still running: let it deplete
		}
	}
	p.live = nil
	bal, err := w.c.admin.AdminGetUserBalance(ctx, p.id)
	if err != nil {
		w.ops.add("deplete_balance_" + outcome(err))
		return
	}
	if bal.BalanceMinor < depletionCredit {
		_, err := w.c.admin.AdminAdjustBalance(ctx, p.id, api.AdjustBalanceRequest{
			AmountMinor: depletionCredit - bal.BalanceMinor, Reason: "faults depletion round"}, uuid.NewString())
		w.ops.add("deplete_credit_" + outcome(err))
		if err != nil {
			return
		}
	}
	if _, ok := w.create(ctx, p, skuDear); ok {
		w.ops.add("depletion_rounds")
	}
}

// fault is one injected failure, for the report.
type fault struct {
	kind     string
	target   string
	at, upAt time.Time
	survived bool
	note     string
}

// agentRestarts are, per node, when its agent was killed and started again.
func (in *injector) agentRestarts() map[uuid.UUID][]time.Time {
	node := map[string]uuid.UUID{}
	for _, a := range in.c.agents {
		node[a.name] = a.nodeID
	}
	out := map[uuid.UUID][]time.Time{}
	for _, f := range in.faults {
		if id, ok := node[f.target]; ok && (f.kind == "agent_kill9" || f.kind == "node_loss") && !f.upAt.IsZero() {
			out[id] = append(out[id], f.at)
		}
	}
	return out
}

// injector kills and restarts the cluster's processes at seeded moments.
type injector struct {
	c      *cluster
	rng    *rand.Rand
	faults []fault
	// lost is the agent killed for good (node loss without return), or
	// nil before that happens.
	lost *agentProc
}

var faultKinds = []struct {
	kind   string
	weight int
}{
	{"server_kill9", 25},
	{"agent_kill9", 20},
	{"node_loss", 10}, // agent down past the offline deadline, then back
	{"nats_kill9", 15},
	{"redis_kill9", 10},
	{"postgres_restart", 15},
}

func (in *injector) pickKind() string {
	total := 0
	for _, k := range faultKinds {
		total += k.weight
	}
	r := in.rng.IntN(total)
	for _, k := range faultKinds {
		if r < k.weight {
			return k.kind
		}
		r -= k.weight
	}
	return faultKinds[0].kind
}

func (in *injector) sleep(ctx context.Context, lo, hi time.Duration) {
	d := lo + time.Duration(in.rng.Int64N(int64(hi-lo)+1))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// run injects target faults, one after the other with seeded gaps; the
// permanent loss of one node comes at the seeded fault number loseAt.
func (in *injector) run(ctx context.Context, target, loseAt int) {
	for n := 0; n < target && ctx.Err() == nil; n++ {
		in.sleep(ctx, 200*time.Millisecond, 1200*time.Millisecond)
		if n == loseAt {
			in.loseNode(ctx)
			continue
		}
		in.inject(ctx, in.pickKind())
	}
}

func (in *injector) live() []*agentProc {
	var out []*agentProc
	for _, a := range in.c.agents {
		if a != in.lost {
			out = append(out, a)
		}
	}
	return out
}

func (in *injector) inject(ctx context.Context, kind string) {
	c := in.c
	f := fault{kind: kind, at: time.Now()}
	var err error
	switch kind {
	case "server_kill9":
		i := in.rng.IntN(len(c.servers))
		s := c.servers[i]
		f.target = s.name
		err = s.kill9()
		in.sleep(ctx, 0, 1500*time.Millisecond)
		if err == nil {
			err = s.start()
		}
	case "agent_kill9", "node_loss":
		agents := in.live()
		a := agents[in.rng.IntN(len(agents))]
		f.target = a.name
		err = a.kill9()
		if kind == "node_loss" {
			in.sleep(ctx, 3*heartbeatInterval+time.Second, 3*heartbeatInterval+4*time.Second)
		} else {
			in.sleep(ctx, 0, 500*time.Millisecond)
		}
		if err == nil {
			err = a.start()
		}
	case "nats_kill9":
		f.target = "nats"
		err = c.nats.kill9()
		in.sleep(ctx, 0, time.Second)
		if err == nil {
			err = c.nats.start()
		}
		if err == nil {
			err = c.nats.waitReady(ctx)
		}
	case "redis_kill9":
		f.target = "redis"
		err = c.redis.kill9()
		in.sleep(ctx, 0, time.Second)
		if err == nil {
			err = c.redis.start()
		}
		if err == nil {
			err = c.redis.waitReady(ctx)
		}
	case "postgres_restart":
		f.target = "postgres"
		err = c.pg.restart(ctx)
	}
	if err == nil {
		err = c.allReady(ctx, 60*time.Second)
	}
	f.upAt = time.Now()
	f.survived = err == nil
	if err != nil {
		f.note = err.Error()
	}
	in.faults = append(in.faults, f)
}

// loseNode kills one agent for good: its node never comes back.
func (in *injector) loseNode(ctx context.Context) {
	agents := in.live()
	a := agents[in.rng.IntN(len(agents))]
	f := fault{kind: "node_lost_forever", target: a.name, at: time.Now()}
	err := a.kill9()
	in.lost = a
	if err == nil {
		err = in.c.allReady(ctx, 60*time.Second)
	}
	f.upAt, f.survived = time.Now(), err == nil
	if err != nil {
		f.note = err.Error()
	}
	in.faults = append(in.faults, f)
}

// allReady waits until every replica answers /readyz and the balancer
// reaches one.
func (c *cluster) allReady(ctx context.Context, timeout time.Duration) error {
	for _, s := range c.servers {
		addr := serverAddr(s)
		if err := waitReady(ctx, sdk.New("http://"+addr), timeout); err != nil {
			return fmt.Errorf("%s not ready: %w", s.name, err)
		}
	}
	return nil
}

// serverAddr reads a replica's --listen from its command line.
func serverAddr(d *daemon) string {
	args := d.newCmd().Args
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// heartbeatLog records every last_heartbeat_at the harness sees per node,
// so that the time a node was offline can be measured from the control
// plane's own stamps: from its last heartbeat before a node.offline event
// to its first heartbeat after.
type heartbeatLog struct {
	mu   sync.Mutex
	seen map[uuid.UUID][]time.Time // sorted, distinct
}

func (h *heartbeatLog) run(ctx context.Context, c *cluster) {
	h.seen = map[uuid.UUID][]time.Time{}
	for ctx.Err() == nil {
		h.once(ctx, c)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (h *heartbeatLog) once(ctx context.Context, c *cluster) {
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	rows, err := c.st.Pool().Query(qctx, `SELECT id, last_heartbeat_at FROM nodes WHERE last_heartbeat_at IS NOT NULL`)
	if err != nil {
		return // Postgres is being restarted
	}
	defer rows.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for rows.Next() {
		var id uuid.UUID
		var at pgtype.Timestamptz
		if rows.Scan(&id, &at) != nil {
			return
		}
		s := h.seen[id]
		if n := len(s); n == 0 || at.Time.After(s[n-1]) {
			h.seen[id] = append(s, at.Time)
		}
	}
}

// around returns the node's last stamp before t and its first after t
// (zero when none was seen).
func (h *heartbeatLog) around(node uuid.UUID, t time.Time) (before, after time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.seen[node] {
		if !s.After(t) {
			before = s
		} else if after.IsZero() {
			after = s
		}
	}
	return before, after
}
