package allocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/money"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Funds is a user's position in one currency for a create's runway check.
type Funds struct {
	// RunningBurn is the hourly price of what the user runs or soon will
	// (allocations requested, provisioning or active).
	RunningBurn int64
	// AtLeast is a lower bound of what the user can spend now.
	AtLeast int64
	// Exact is what the user can spend now: their balance less usage
	// accrued and not yet debited. It is called only when AtLeast does not
	// settle the check, and runs in the same transaction.
	Exact func(ctx context.Context) (int64, error)
}

// FundsLocker locks the user's account in a SKU's currency for the rest of
// the create's transaction, so one user's creates are judged one at a
// time, and returns their Funds, in two steps: reads (the lock first) go
// with the create's first reads (store.Store.Together), and funds, given
// the SKU those read, returns what they found.
type FundsLocker func(ctx context.Context, userID uuid.UUID, skuID string) (reads []func(q *db.Queries) error, funds func(tx *store.Store, sku db.Sku) (Funds, error))

// LimitChecker refuses a create of sku by userID that would break one of
// their spend limits (package limits), in two steps so that its first read
// costs no round trip of its own: read goes with the create's first reads
// (store.Store.Together), and check runs inside the create's transaction
// tx, after the funds lock, with what read found.
// placed, when not nil, is the create's allocation, already placed in tx
// (early placement): check must not count it among what already runs.
type LimitChecker func(ctx context.Context, userID uuid.UUID) (read func(q *db.Queries) error, check func(tx *store.Store, sku db.Sku, placed uuid.UUID) error)

// CreateRequest is a user's ask for GPUs.
type CreateRequest struct {
	SKUID string
	Name  string
	// Container, when set, runs the allocation on the docker runtime (the
	// launchables layer has checked it); nil is a process (shell)
	// allocation. CreateIn adds the SKU's limits and seals its SecretEnv.
	Container *Spec
	// SSHKeyIDs are the owner's keys to install; nil means all of them,
	// including keys added later, and an empty list none.
	SSHKeyIDs *[]uuid.UUID
	// Account pays for and owns the allocation: a team the caller is in
	// (package teams resolved it), or uuid.Nil for the caller's own.
	Account uuid.UUID
}

// CodeUnknownSSHKey: a create named an SSH key that is not the caller's.
const CodeUnknownSSHKey = "unknown_ssh_key"

// maxSSHKeyIDs bounds ssh_key_ids; a user holds at most this many keys.
const maxSSHKeyIDs = 32

// distinctKeys returns the distinct keys of ids, nil for nil; CreateIn
// refuses any that is not the user's with 400 unknown_ssh_key.
func distinctKeys(ids *[]uuid.UUID) ([]uuid.UUID, error) {
	if ids == nil {
		return nil, nil
	}
	if len(*ids) > maxSSHKeyIDs {
		return nil, apperr.Invalid("ssh_key_ids may name at most %d keys", maxSSHKeyIDs)
	}
	seen := map[uuid.UUID]bool{}
	out := []uuid.UUID{}
	for _, id := range *ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// CreateIn places and records a new allocation inside tx, which the caller
// commits (together with its idempotency record). The allocation starts in
// requested with its GPUs reserved; its event wakes the provisioner.
func (s *Service) CreateIn(ctx context.Context, tx *store.Store, userID uuid.UUID, req CreateRequest) (api.Allocation, error) {
	account := userID
	if req.Account != uuid.Nil {
		account = req.Account
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.SKUID == "" {
		return api.Allocation{}, apperr.Invalid("sku_id is required")
	}
	if len(req.Name) > 63 {
		return api.Allocation{}, apperr.Invalid("name must be at most 63 characters")
	}
	keyIDs, err := distinctKeys(req.SSHKeyIDs)
	if err != nil {
		return api.Allocation{}, err
	}
	// What a create reads first goes in one round trip. FOR SHARE on the
	// user (and the team): a suspension or deletion (FOR UPDATE) and this
	// create happen one after the other, never across each other.
	var standing, team db.LockUserStandingRow
	var sku db.Sku
	var keys int64
	var standingErr, teamErr, keysErr, skuErr error
	reads := []func(q *db.Queries) error{
		func(q *db.Queries) error { standing, standingErr = q.LockUserStanding(ctx, userID); return nil },
		func(q *db.Queries) error { sku, skuErr = q.GetSKU(ctx, req.SKUID); return nil },
	}
	if account != userID {
		reads = append(reads, func(q *db.Queries) error { team, teamErr = q.LockUserStanding(ctx, account); return nil })
	}
	var lockFunds func(tx *store.Store, sku db.Sku) (Funds, error)
	if s.cfg.LockFunds != nil {
		// After the standing reads: the same lock order as a suspension's.
		var lock []func(q *db.Queries) error
		lock, lockFunds = s.cfg.LockFunds(ctx, account, req.SKUID)
		reads = append(reads, lock...)
	}
	var checkLimits func(tx *store.Store, sku db.Sku, placed uuid.UUID) error
	if s.cfg.CheckLimits != nil {
		// The account's limits: a team's allocation counts against the
		// team's, not the member's.
		var read func(q *db.Queries) error
		read, checkLimits = s.cfg.CheckLimits(ctx, account)
		reads = append(reads, read)
	}
	if len(keyIDs) > 0 {
		reads = append(reads, func(q *db.Queries) error {
			keys, keysErr = q.CountUserSSHKeysByIDs(ctx, db.CountUserSSHKeysByIDsParams{UserID: userID, Ids: keyIDs})
			return nil
		})
	}
	// A shell allocation of a SKU an earlier create read is placed in the
	// same round trip, last, after every lock above (see placeEarly).
	var early *earlyPlacement
	if req.Container == nil {
		early = s.placeEarly(ctx, db.PlaceAllocationParams{
			UserID: account, CreatedBy: userID, SkuID: req.SKUID, Name: req.Name, SshKeyIds: keyIDs, Runtime: RuntimeProcess,
		})
		if early != nil {
			reads = append(reads, early.read)
		}
	}
	if err := tx.Together(ctx, reads...); err != nil {
		return api.Allocation{}, err
	}
	if standingErr != nil {
		return api.Allocation{}, fmt.Errorf("read user standing: %w", standingErr)
	}
	if standing.SuspendedAt != nil || standing.DeletedAt != nil {
		return api.Allocation{}, apperr.ForbiddenCode(CodeAccountSuspended, "this account is suspended; contact an administrator")
	}
	if teamErr != nil {
		return api.Allocation{}, fmt.Errorf("read team standing: %w", teamErr)
	}
	if account != userID && (team.SuspendedAt != nil || team.DeletedAt != nil) {
		return api.Allocation{}, apperr.ForbiddenCode(CodeAccountSuspended, "this team's account is suspended; contact an administrator")
	}
	if keysErr != nil {
		return api.Allocation{}, fmt.Errorf("check ssh keys: %w", keysErr)
	}
	if int(keys) != len(keyIDs) {
		return api.Allocation{}, apperr.InvalidCode(CodeUnknownSSHKey, "ssh_key_ids names %d key(s) that are not among your SSH keys", len(keyIDs)-int(keys))
	}
	if store.IsNoRows(skuErr) || (skuErr == nil && !sku.Active) {
		return api.Allocation{}, apperr.NotFound("sku")
	}
	if skuErr != nil {
		return api.Allocation{}, fmt.Errorf("get sku: %w", skuErr)
	}
	s.skus.put(sku)
	if lockFunds != nil {
		f, err := lockFunds(tx, sku)
		if err != nil {
			return api.Allocation{}, fmt.Errorf("read balance: %w", err)
		}
		// What already runs burns the same credit: the runway is checked
		// at the total rate, under the account lock taken above, so racing
		// creates are judged one after another. The cheap lower bound
		// admits almost every create; the exact figure settles the rest and
		// is what a refusal reports.
		burn := f.RunningBurn + sku.PricePerHourMinor
		if f.AtLeast < minRunwayCharge(burn, s.cfg.MinRunway) {
			available, err := f.Exact(ctx)
			if err != nil {
				return api.Allocation{}, fmt.Errorf("read balance: %w", err)
			}
			if err := checkRunway(available, burn, s.cfg.MinRunway, sku.Currency); err != nil {
				return api.Allocation{}, err
			}
		}
	}
	if checkLimits != nil {
		if err := checkLimits(tx, sku, early.placed()); err != nil {
			return api.Allocation{}, err
		}
	}
	p := db.PlaceAllocationParams{
		UserID: account, CreatedBy: userID, SkuID: sku.ID, Name: req.Name, PricePerHourMinor: sku.PricePerHourMinor, Currency: sku.Currency,
		SshKeyIds: keyIDs,
		Runtime:   RuntimeProcess,
	}
	if req.Container != nil {
		spec := *req.Container
		spec.VCPU, spec.MemoryMiB = int(sku.Vcpu), sku.MemoryMib
		if len(spec.SecretEnv) > 0 {
			if s.cfg.Secrets == nil {
				return api.Allocation{}, errors.New("a workload with secrets needs a sealer")
			}
			spec.SealedEnv = map[string][]byte{}
			for k, v := range spec.SecretEnv {
				if spec.SealedEnv[k], err = s.cfg.Secrets.Seal([]byte(v), envAAD(k)); err != nil {
					return api.Allocation{}, fmt.Errorf("seal workload env: %w", err)
				}
			}
			spec.SecretEnv = nil
		}
		if p.Workload, err = json.Marshal(spec); err != nil {
			return api.Allocation{}, fmt.Errorf("encode workload: %w", err)
		}
		p.Runtime = RuntimeDocker
	}
	row, placed, err := early.outcome(s, sku)
	if err == nil && !placed {
		row, err = s.place(ctx, tx, sku, p)
	}
	if err != nil {
		return api.Allocation{}, err
	}
	if err := s.record(ctx, tx, row, "", ""); err != nil {
		return api.Allocation{}, err
	}
	if req.Container != nil {
		// Only a container's life is stored as events; a shell create
		// stays one insert (see Events).
		if _, err := tx.InsertAllocationEvent(ctx, requestedEvent(row, *req.Container)); err != nil {
			return api.Allocation{}, fmt.Errorf("store requested event: %w", err)
		}
	}
	s.transitions.WithLabelValues(string(StatusRequested)).Inc()
	return ToAPI(row), nil
}

// checkRunway refuses a create when available credit does not last runway
// at burnPerHour, with the figures in the error's details.
func checkRunway(available, burnPerHour int64, runway time.Duration, currency string) error {
	need := minRunwayCharge(burnPerHour, runway)
	if available >= need {
		return nil
	}
	return &apperr.Error{Kind: apperr.KindPaymentRequired, Code: CodeInsufficientFunds,
		Message: fmt.Sprintf("%s of credit is needed to run for %s at %s an hour with what you already run; you have %s",
			money.Format(need, currency), runway, money.Format(burnPerHour, currency), money.Format(available, currency)),
		Details: map[string]any{"required_minor": need, "balance_minor": available, "currency": currency,
			"burn_rate_per_hour_minor": burnPerHour, "min_runway_seconds": int64(runway / time.Second)}}
}

// minRunwayCharge is ceil(price × runway / 1h) in minor units.
func minRunwayCharge(pricePerHour int64, runway time.Duration) int64 {
	secs := int64((runway + time.Second - 1) / time.Second)
	return (pricePerHour*secs + 3599) / 3600
}
