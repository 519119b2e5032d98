package allocation

import (
	"context"
	"sync"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// maxStepBatch bounds how many provisioning steps share one transaction.
const maxStepBatch = 32

// stepBatcher commits the provisioner's steps (requested → provisioning,
// provisioning → active) that arrive while another batch is committing
// together, in one transaction: one BEGIN and one COMMIT, and one WAL
// flush, for a batch instead of one each. Nothing waits for a batch to
// fill: a step that finds no batch running commits at once, a batch of
// one, and the steps that queue meanwhile go together next (group
// commit). So under
// light load a step costs what it did before, and under heavy load the
// lifecycle's commits shrink by the batch size.
//
// Each step is still its own conditional transition with its own audit
// row and event, so a step that finds its allocation moved on gets
// invalid_state as before, and the others commit. A batch that fails as
// a whole (a statement error aborts the transaction) is rolled back and
// each of its steps is run again in its own transaction, by its own
// caller and concurrently, so one step's failure or wait is never
// another's.
//
// Only these two steps are batched: each locks only its allocation's own
// row. A batch locks its rows in no set order, so it waits at most 100 ms
// for a row another transaction holds (ShortLockWait) and then runs its
// steps alone: it never holds the others up for longer, nor ends up in a
// deadlock that a user's request loses (Postgres looks for those only
// after a second). Releases and failures, which free GPUs and post ledger
// entries, keep one transaction each.
type stepBatcher struct {
	mu      sync.Mutex
	pending []*stepReq
	busy    bool // a leader is running a batch
}

// stepReq is one step waiting for its batch. done closes when next and
// err are set; lead closes when this request is to run the next batch.
type stepReq struct {
	ctx  context.Context
	row  db.Allocation
	to   Status
	c    change
	next db.Allocation
	err  error
	// alone: the batch failed as a whole; the step is to be run again in
	// a transaction of its own.
	alone bool
	done  chan struct{}
	lead  chan struct{}
}

// batched says whether a step to `to` may share a transaction.
func batched(to Status) bool { return to == StatusProvisioning || to == StatusActive }

// stepBatched runs one transition in a batch, or, when its batch failed
// as a whole, in a transaction of its own.
func (w *Worker) stepBatched(ctx context.Context, row db.Allocation, to Status, c change) (db.Allocation, error) {
	r := &stepReq{ctx: ctx, row: row, to: to, c: c}
	w.steps.do(w, r)
	if r.alone {
		w.svc.stepBatches.Observe(1)
		return w.stepAlone(ctx, row, to, c)
	}
	return r.next, r.err
}

// do runs r in a batch and returns when it is done, or marked to run
// alone. The first caller to find no batch running leads: it takes what
// is pending (its own step among it), commits it, and hands the lead to
// the first of those that queued meanwhile.
func (b *stepBatcher) do(w *Worker, r *stepReq) {
	r.done, r.lead = make(chan struct{}), make(chan struct{})
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if b.busy {
		b.mu.Unlock()
		select {
		case <-r.done:
			return
		case <-r.lead:
		}
		b.mu.Lock()
	}
	b.busy = true
	n := min(len(b.pending), maxStepBatch)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	w.runBatch(batch)

	b.mu.Lock()
	if len(b.pending) > 0 {
		close(b.pending[0].lead) // busy stays set: the lead passes on
	} else {
		b.busy = false
	}
	b.mu.Unlock()
}

// runBatch commits batch's steps in one transaction. When that fails, each
// request is marked to run alone, which its caller does (in its own
// goroutine, so one that waits on a held row holds up nobody else).
// Every request is done when it returns.
func (w *Worker) runBatch(batch []*stepReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	// The batch runs for its leader, whose context decides; the others
	// are judged again alone if it is cancelled.
	err := w.svc.store.InTx(batch[0].ctx, func(tx *store.Store) error {
		if err := tx.Later().ShortLockWait(batch[0].ctx); err != nil {
			return err
		}
		for _, r := range batch {
			r.next, r.err = w.svc.transition(r.ctx, tx, r.row, r.to, r.c)
			if r.err != nil && !isLost(r.err) {
				return r.err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			r.alone = true
		}
		return
	}
	w.svc.stepBatches.Observe(float64(len(batch)))
}

// isLost is a transition refused because the allocation moved on (or
// cannot take the step): the step's own answer, which sends no statement
// that fails, so the transaction stays usable.
func isLost(err error) bool { return apperr.HasCode(err, CodeInvalidState) }
