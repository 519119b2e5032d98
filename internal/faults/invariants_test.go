//go:build linux

package faults_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

// check is one invariant's result: it holds when violations is empty.
type check struct {
	name       string
	checked    int // how many things it looked at
	violations []string
	// ids are the allocations involved, whose history the report prints.
	ids []uuid.UUID
}

func (c *check) fail(id uuid.UUID, format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
	if id != uuid.Nil {
		c.ids = append(c.ids, id)
	}
}

// checker reads the final state straight from the database and the stream.
type checker struct {
	c        *cluster
	hb       *heartbeatLog
	lostNode uuid.UUID // the node that never came back, if any
	// restarts are when each node's agent was started again after a kill:
	// a restarted agent has forgotten what it ran, so a workload is not
	// reported alive (and not billed) until the control plane provisions
	// it again.
	restarts map[uuid.UUID][]time.Time
}

// reprovision bounds how long after an agent restart its workloads are
// reported running again: a reconcile, an idempotent provision and the
// next heartbeat.
const reprovision = 4 * heartbeatInterval

type allocRow struct {
	id, userID          uuid.UUID
	nodeID              uuid.NullUUID
	status              string
	failureReason       string
	releaseReason       string
	price               int64
	activeAt            pgtype.Timestamptz
	releaseRequestedAt  pgtype.Timestamptz // the column, or the first releasing transition
	releaseRequestedSrc string
}

// hasColumn says whether table has column: the suite adapts to a schema
// that is still gaining columns (allocations.release_requested_at).
func (k *checker) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var ok bool
	err := k.c.st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)`, table, column).Scan(&ok)
	return ok, err
}

func (k *checker) allocations(ctx context.Context) ([]allocRow, error) {
	hasCol, err := k.hasColumn(ctx, "allocations", "release_requested_at")
	if err != nil {
		return nil, err
	}
	// The first transition to releasing, from the audit log: when the
	// column is not there yet, it is when release was asked.
	fromAudit := `(SELECT min(l.occurred_at) FROM audit_logs l WHERE l.action = 'allocation.transition'
		AND l.target_id = a.id::text AND l.metadata->>'status_to' = 'releasing')`
	reqExpr, src := fromAudit, "audit log (first transition to releasing)"
	if hasCol {
		reqExpr, src = "COALESCE(a.release_requested_at, "+fromAudit+")", "allocations.release_requested_at"
	}
	rows, err := k.c.st.Pool().Query(ctx, `SELECT a.id, a.user_id, a.node_id, a.status, a.failure_reason, a.release_reason,
		a.price_per_hour_minor, a.active_at, `+reqExpr+` FROM allocations a ORDER BY a.created_at, a.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []allocRow
	for rows.Next() {
		var r allocRow
		if err := rows.Scan(&r.id, &r.userID, &r.nodeID, &r.status, &r.failureReason, &r.releaseReason, &r.price,
			&r.activeAt, &r.releaseRequestedAt); err != nil {
			return nil, err
		}
		r.releaseRequestedSrc = src
		out = append(out, r)
	}
	return out, rows.Err()
}

func (k *checker) run(ctx context.Context) ([]*check, error) {
	allocs, err := k.allocations(ctx)
	if err != nil {
		return nil, fmt.Errorf("read allocations: %w", err)
	}
	var out []*check
	out = append(out, k.stuck(allocs), k.releasesFinished(allocs))
	g, err := k.gpus(ctx)
	if err != nil {
		return nil, fmt.Errorf("gpu check: %w", err)
	}
	out = append(out, g)
	u, err := k.usage(ctx, allocs)
	if err != nil {
		return nil, fmt.Errorf("usage check: %w", err)
	}
	out = append(out, u)
	l, err := k.ledger(ctx, allocs)
	if err != nil {
		return nil, fmt.Errorf("ledger check: %w", err)
	}
	out = append(out, l...)
	e, err := k.events(ctx)
	if err != nil {
		return nil, fmt.Errorf("events check: %w", err)
	}
	out = append(out, e...)
	return out, nil
}

// stuck: nothing may stay requested, provisioning or releasing once the
// reconciler's deadline (and its retries) have passed.
func (k *checker) stuck(allocs []allocRow) *check {
	c := &check{name: "no allocation stuck in requested/provisioning/releasing"}
	for _, a := range allocs {
		c.checked++
		switch a.status {
		case "requested", "provisioning", "releasing":
			c.fail(a.id, "allocation %s is still %s", a.id, a.status)
		}
	}
	return c
}

// releasesFinished: every allocation asked to release ended released, or
// failed with reason node_lost when its node never came back.
func (k *checker) releasesFinished(allocs []allocRow) *check {
	c := &check{name: "every release requested finished (released, or failed node_lost on a node that never came back)"}
	for _, a := range allocs {
		if !a.releaseRequestedAt.Valid {
			if a.status == "active" {
				c.checked++
				c.fail(a.id, "allocation %s is still active: the final release of the run never moved it", a.id)
			}
			continue
		}
		c.checked++
		switch {
		case a.status == "released":
		case a.status == "failed" && nodeLost(a) && a.nodeID.Valid && a.nodeID.UUID == k.lostNode && k.lostNode != uuid.Nil:
		case a.status == "failed" && nodeLost(a):
			c.fail(a.id, "allocation %s failed node_lost but its node %s came back", a.id, a.nodeID.UUID)
		default:
			c.fail(a.id, "allocation %s asked to release (release_reason %q) ended %s (failure_reason %q)",
				a.id, a.releaseReason, a.status, a.failureReason)
		}
	}
	return c
}

// nodeLost says whether the allocation ended for the loss of its node;
// either reason column may carry it.
func nodeLost(a allocRow) bool {
	return strings.Contains(a.failureReason, "node_lost") || strings.Contains(a.releaseReason, "node_lost")
}

// gpus: a GPU is held only by an allocation that may still run on it
// (reserved through release_failed), never by a finished one.
func (k *checker) gpus(ctx context.Context) (*check, error) {
	c := &check{name: "no GPU held by a released or failed allocation"}
	rows, err := k.c.st.Pool().Query(ctx, `SELECT g.uuid, a.id, a.status FROM gpus g JOIN allocations a ON a.id = g.allocation_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gpu, status string
		var id uuid.UUID
		if err := rows.Scan(&gpu, &id, &status); err != nil {
			return nil, err
		}
		c.checked++
		if status == "released" || status == "failed" {
			c.fail(id, "GPU %s still held by allocation %s, which is %s", gpu, id, status)
		}
	}
	return c, rows.Err()
}

// gap is a time a node was offline: from its last heartbeat before a
// node.offline event to its first heartbeat after (end zero: never back).
type gap struct{ start, end time.Time }

func (k *checker) offlineGaps(ctx context.Context) (map[uuid.UUID][]gap, error) {
	rows, err := k.c.st.Pool().Query(ctx, `SELECT (payload->'data'->>'node_id')::uuid, created_at FROM outbox
		WHERE type = $1 ORDER BY seq`, events.NodeOffline)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID][]gap{}
	for rows.Next() {
		var node uuid.UUID
		var at time.Time
		if err := rows.Scan(&node, &at); err != nil {
			return nil, err
		}
		before, after := k.hb.around(node, at)
		if before.IsZero() {
			before = at.Add(-3 * heartbeatInterval)
		}
		out[node] = append(out[node], gap{start: before, end: after})
	}
	return out, rows.Err()
}

// gapList prints gaps for a failure message.
func gapList(gaps []gap) string {
	parts := make([]string, len(gaps))
	for i, g := range gaps {
		end := "never back"
		if !g.end.IsZero() {
			end = ts(g.end)
		}
		parts[i] = ts(g.start) + " → " + end
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// overlap is how long gaps (merged) cover [from, to).
func overlap(gaps []gap, from, to time.Time) time.Duration {
	var spans []gap
	for _, g := range gaps {
		end := g.end
		if end.IsZero() || end.After(to) {
			end = to
		}
		start := g.start
		if start.Before(from) {
			start = from
		}
		if end.After(start) {
			spans = append(spans, gap{start, end})
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	var total time.Duration
	var cur gap
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case !s.start.After(cur.end):
			if s.end.After(cur.end) {
				cur.end = s.end
			}
		default:
			total += cur.end.Sub(cur.start)
			cur = s
		}
	}
	if len(spans) > 0 {
		total += cur.end.Sub(cur.start)
	}
	return total
}

// usage: a window's charged seconds are, within 1 s, the time from the
// allocation's active moment to its release request, less the time its
// node was offline (billing pauses at the last heartbeat).
func (k *checker) usage(ctx context.Context, allocs []allocRow) (*check, error) {
	c := &check{name: "usage seconds = active → release request, less node-offline time (±1 s)"}
	gaps, err := k.offlineGaps(ctx)
	if err != nil {
		return nil, err
	}
	type win struct {
		started          time.Time
		ended            pgtype.Timestamptz
		seconds, charged int64
		pausedMicros     int64 // the offline time billing itself left out
	}
	wins := map[uuid.UUID]win{}
	rows, err := k.c.st.Pool().Query(ctx, `SELECT allocation_id, started_at, ended_at, charged_seconds, charged_minor, paused_micros FROM usage_records`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var w win
		if err := rows.Scan(&id, &w.started, &w.ended, &w.seconds, &w.charged, &w.pausedMicros); err != nil {
			rows.Close()
			return nil, err
		}
		wins[id] = w
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, a := range allocs {
		w, ok := wins[a.id]
		if !a.activeAt.Valid {
			if ok && w.seconds > 0 {
				c.checked++
				c.fail(a.id, "allocation %s never became active but its window charged %d s", a.id, w.seconds)
			}
			continue
		}
		c.checked++
		if !ok {
			c.fail(a.id, "allocation %s became active at %s but has no usage window", a.id, ts(a.activeAt.Time))
			continue
		}
		if !w.ended.Valid {
			c.fail(a.id, "allocation %s (%s) still has an open usage window (%d s so far)", a.id, a.status, w.seconds)
			continue
		}
		from, to, src := a.activeAt.Time, a.releaseRequestedAt.Time, a.releaseRequestedSrc
		if !a.releaseRequestedAt.Valid {
			if !nodeLost(a) {
				c.fail(a.id, "allocation %s (%s) has a closed window but no release request", a.id, a.status)
				continue
			}
			// Failed for its lost node without a release: billable up to
			// the node's last heartbeat, which the offline gap ends.
			to, src = w.ended.Time, "window end (node lost, no release request)"
		}
		var nodeGaps []gap
		if a.nodeID.Valid {
			nodeGaps = gaps[a.nodeID.UUID]
		}
		offline := overlap(nodeGaps, from, to)
		want := (to.Sub(from) - offline).Seconds()
		if want < 0 {
			want = 0
		}
		// Less may be charged, never more, for the moments after an agent
		// restart before the workload is reported alive again.
		var unreported time.Duration
		if a.nodeID.Valid {
			for _, at := range k.restarts[a.nodeID.UUID] {
				if at.After(from) && at.Before(to) {
					unreported += reprovision
				}
			}
		}
		if diff := float64(w.seconds) - want; diff > 1 || diff < -1-unreported.Seconds() {
			var why []string
			if lag := w.ended.Time.Sub(to); lag > 50*time.Millisecond {
				why = append(why, fmt.Sprintf("billed %.1f s past the release request, to the runtime's confirmation", lag.Seconds()))
			}
			if offline > 500*time.Millisecond {
				why = append(why, fmt.Sprintf("node offline %.1f s charged", offline.Seconds()))
			}
			if d := w.started.Sub(from); d > 500*time.Millisecond || d < -500*time.Millisecond {
				why = append(why, fmt.Sprintf("window opened %.1f s off the active moment", d.Seconds()))
			}
			c.fail(a.id, "allocation %s charged %d s, want %.1f s: %s (active %s, release asked %s [%s], node offline %.1f s of it by its heartbeats, %.1f s by billing's pauses; window %s → %s; node gaps %s)",
				a.id, w.seconds, want, strings.Join(why, "; "), ts(from), ts(to), src, offline.Seconds(),
				float64(w.pausedMicros)/1e6, ts(w.started), ts(w.ended.Time), gapList(nodeGaps))
		}
	}
	return c, nil
}

// ledger: one posting per key, the books balance, balances are the sum
// of their entries, and an allocation's debits are the charge for its
// window's seconds.
func (k *checker) ledger(ctx context.Context, allocs []allocRow) ([]*check, error) {
	pool := k.c.st.Pool()
	keys := &check{name: "exactly one ledger posting per idempotency key (one debit per interval)"}
	rows, err := pool.Query(ctx, `SELECT idempotency_key, count(*) FROM ledger_transactions GROUP BY 1`)
	if err != nil {
		return nil, err
	}
	closes := map[string]int{}
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			rows.Close()
			return nil, err
		}
		keys.checked++
		if n != 1 {
			keys.fail(uuid.Nil, "key %s posted %d times", key, n)
		}
		if strings.HasPrefix(key, "usage:") && strings.HasSuffix(key, ":close") {
			closes[strings.TrimSuffix(strings.TrimPrefix(key, "usage:"), ":close")]++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	balanced := &check{name: "every ledger transaction sums to zero, and so does the whole ledger"}
	rows, err = pool.Query(ctx, `SELECT t.idempotency_key, count(e.id), COALESCE(sum(e.amount_minor), 0)
		FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id, t.idempotency_key`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var key string
		var n, sum int64
		if err := rows.Scan(&key, &n, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		balanced.checked++
		if n < 2 || sum != 0 {
			balanced.fail(uuid.Nil, "transaction %s: %d entries summing to %d", key, n, sum)
		}
	}
	rows.Close()
	var total int64
	if err := pool.QueryRow(ctx, `SELECT COALESCE(sum(amount_minor), 0) FROM ledger_entries`).Scan(&total); err != nil {
		return nil, err
	}
	if total != 0 {
		balanced.fail(uuid.Nil, "all entries sum to %d, not 0", total)
	}

	accounts := &check{name: "every balance equals the sum of its entries"}
	rows, err = pool.Query(ctx, `SELECT a.id, a.kind, a.balance_minor, COALESCE(sum(e.amount_minor), 0)
		FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var kind string
		var bal, sum int64
		if err := rows.Scan(&id, &kind, &bal, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		accounts.checked++
		if bal != sum {
			accounts.fail(uuid.Nil, "%s account %s: balance %d, entries sum to %d", kind, id, bal, sum)
		}
	}
	rows.Close()

	debits := &check{name: "an allocation's usage debits sum to charge(its window's seconds), with at most one close"}
	charged := map[uuid.UUID]int64{}
	rows, err = pool.Query(ctx, `SELECT t.allocation_id, COALESCE(sum(e.amount_minor), 0) FROM ledger_transactions t
		JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'user'
		WHERE t.kind = 'usage' AND t.allocation_id IS NOT NULL GROUP BY 1`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		charged[id] = -sum
	}
	rows.Close()
	windows := map[uuid.UUID][2]int64{}
	rows, err = pool.Query(ctx, `SELECT allocation_id, charged_seconds, charged_minor FROM usage_records`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var s, m int64
		if err := rows.Scan(&id, &s, &m); err != nil {
			rows.Close()
			return nil, err
		}
		windows[id] = [2]int64{s, m}
	}
	rows.Close()
	for _, a := range allocs {
		w, hasWin := windows[a.id]
		got := charged[a.id]
		if !hasWin && got == 0 {
			continue
		}
		debits.checked++
		if want := billing.Charge(w[0], a.price); got != want || w[1] != want {
			debits.fail(a.id, "allocation %s: debits %d, window charged_minor %d, charge(%d s at %d/h) = %d",
				a.id, got, w[1], w[0], a.price, want)
		}
		if n := closes[a.id.String()]; n > 1 {
			debits.fail(a.id, "allocation %s closed %d times", a.id, n)
		}
	}
	return []*check{keys, balanced, accounts, debits}, nil
}

// events: every outbox row published, every billing event applied once,
// nothing dead-lettered, and the stream holds each published event once.
func (k *checker) events(ctx context.Context) ([]*check, error) {
	pool := k.c.st.Pool()
	published := &check{name: "every outbox row published"}
	var ids []uuid.UUID
	pub := map[uuid.UUID]bool{}
	rows, err := pool.Query(ctx, `SELECT id, type, published_at IS NOT NULL FROM outbox ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id uuid.UUID
		var typ string
		var ok bool
		if err := rows.Scan(&id, &typ, &ok); err != nil {
			rows.Close()
			return nil, err
		}
		published.checked++
		ids = append(ids, id)
		pub[id] = ok
		if !ok {
			published.fail(uuid.Nil, "outbox %s (%s) never published", id, typ)
		}
	}
	rows.Close()

	// Events whose transition settled the usage window itself
	// (usage_settled) need nothing from billing and leave no row; the
	// usage check above is what shows their windows are right.
	applied := &check{name: "every billing event not settled by its transition applied exactly once (consumer_applied), none dead-lettered"}
	rows, err = pool.Query(ctx, `SELECT o.id, o.type, (o.payload->'data'->>'allocation_id')::uuid FROM outbox o
		WHERE o.type = ANY($1) AND (o.payload->'data'->>'usage_settled') IS DISTINCT FROM 'true' AND NOT EXISTS (SELECT 1 FROM consumer_applied c WHERE c.consumer = $2 AND c.event_id = o.id)`,
		billing.EventTypes, billing.ConsumerName)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, alloc uuid.UUID
		var typ string
		if err := rows.Scan(&id, &typ, &alloc); err != nil {
			rows.Close()
			return nil, err
		}
		applied.fail(alloc, "%s event %s for allocation %s never applied by %s", typ, id, alloc, billing.ConsumerName)
	}
	rows.Close()
	var phantom, dead, appliedN int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = c.event_id)), count(*)
		FROM consumer_applied c`).Scan(&phantom, &appliedN); err != nil {
		return nil, err
	}
	applied.checked = appliedN
	if phantom > 0 {
		applied.fail(uuid.Nil, "%d consumer_applied rows name no outbox event", phantom)
	}
	drows, err := pool.Query(ctx, `SELECT consumer, event_id, subject, deliveries, error FROM dead_letters ORDER BY id`)
	if err != nil {
		return nil, err
	}
	for drows.Next() {
		var consumer, ev, subject, why string
		var n int
		if err := drows.Scan(&consumer, &ev, &subject, &n, &why); err != nil {
			drows.Close()
			return nil, err
		}
		dead++
		applied.fail(uuid.Nil, "dead letter: %s gave up on %s (%s) after %d deliveries: %s", consumer, ev, subject, n, why)
	}
	drows.Close()

	stream := &check{name: "the stream holds every published event exactly once, and nothing else"}
	seen, err := k.streamIDs(ctx)
	if err != nil {
		stream.fail(uuid.Nil, "read the stream: %v", err)
		return []*check{published, applied, stream}, nil
	}
	for _, id := range ids {
		stream.checked++
		n := seen[id.String()]
		switch {
		case pub[id] && n == 0:
			stream.fail(uuid.Nil, "outbox %s marked published but not in the stream (lost)", id)
		case n > 1:
			stream.fail(uuid.Nil, "outbox %s is in the stream %d times", id, n)
		}
		delete(seen, id.String())
	}
	for id, n := range seen {
		stream.fail(uuid.Nil, "stream message %s (%d times) has no outbox row", id, n)
	}
	return []*check{published, applied, stream}, nil
}

// streamIDs counts the Nats-Msg-Id of every message in the namespace's
// stream.
func (k *checker) streamIDs(ctx context.Context) (map[string]int, error) {
	nc, err := nats.Connect(k.c.nats.url(), nats.Timeout(2*time.Second))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, events.Naming{Namespace: "faults"}.Stream())
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", seq, err)
		}
		out[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	return out, nil
}

// history is an allocation's story for the report: its row and every
// transition with its reason.
func (k *checker) history(ctx context.Context, id uuid.UUID) string {
	var b strings.Builder
	var status, fr, rr string
	var node pgtype.Text
	var created time.Time
	err := k.c.st.Pool().QueryRow(ctx, `SELECT a.status, a.failure_reason, a.release_reason, n.hostname, a.created_at
		FROM allocations a LEFT JOIN nodes n ON n.id = a.node_id WHERE a.id = $1`, id).Scan(&status, &fr, &rr, &node, &created)
	if err != nil {
		return fmt.Sprintf("    (read allocation %s: %v)\n", id, err)
	}
	fmt.Fprintf(&b, "    allocation %s on %s: %s (failure_reason %q, release_reason %q), created %s\n",
		id, node.String, status, fr, rr, ts(created))
	rows, err := k.c.st.Pool().Query(ctx, `SELECT occurred_at, metadata->>'status_from', metadata->>'status_to', metadata::text
		FROM audit_logs WHERE action = 'allocation.transition' AND target_id = $1 ORDER BY id`, id.String())
	if err != nil {
		return b.String()
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var from, to, meta pgtype.Text
		if rows.Scan(&at, &from, &to, &meta) != nil {
			break
		}
		fmt.Fprintf(&b, "      %s  %s → %s  %s\n", ts(at), from.String, to.String, meta.String)
	}
	return b.String()
}

func ts(t time.Time) string { return t.UTC().Format("15:04:05.000") }
