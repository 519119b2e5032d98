package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Actions, and the metadata keys each may carry.
const (
	ActionLoginSucceeded  = "auth.login"
	ActionLoginFailed     = "auth.login_failed"
	ActionLogout          = "auth.logout"
	ActionRefreshReuse    = "auth.refresh_reuse_detected"
	ActionPasswordChanged = "user.password_change"
	ActionAPITokenCreated = "api_token.create"
	ActionAPITokenRevoked = "api_token.revoke"
	ActionUserCreated     = "user.create"
	ActionUserRoleChanged = "user.role_change"
	ActionNodeCreated     = "node.create"
	ActionNodeDisabled    = "node.disable"
	ActionNodeEnabled     = "node.enable"
	// ActionNodeCordoned: the platform took a node out of placement (a GPU
	// failed under an allocation).
	ActionNodeCordoned     = "node.cordon"
	ActionSigningKeyRotate = "signing_key.rotate"
	// ActionNodeDrained, Undrained and Decommissioned: maintenance.
	ActionNodeDrained        = "node.drain"
	ActionNodeUndrained      = "node.undrain"
	ActionNodeDecommissioned = "node.decommission"

	ActionAllocationTransition = "allocation.transition"
	// ActionAllocationForceRelease: an admin, a suspension or an empty
	// balance released an allocation its owner did not give back.
	ActionAllocationForceRelease = "allocation.force_release"

	ActionUserEmailChanged      = "user.email_change"
	ActionUserSuspended         = "user.suspend"
	ActionUserUnsuspended       = "user.unsuspend"
	ActionUserDeleted           = "user.delete"
	ActionPasswordResetIssued   = "user.password_reset_issue"
	ActionPasswordResetRedeemed = "user.password_reset"

	ActionNodeJoinTokenIssued    = "node.join_token_issue"
	ActionNodeJoined             = "node.join"
	ActionNodeCredentialsRevoked = "node.credentials_revoke"

	ActionSSHKeyAdded   = "ssh_key.add"
	ActionSSHKeyDeleted = "ssh_key.delete"

	ActionBillingAdjustment = "billing.adjustment"

	// Payments (package payments): a checkout started, a credit booked,
	// a status change, a mismatch with Stripe, a refund, a dispute.
	ActionPaymentCheckout   = "payment.checkout"
	ActionPaymentCredited   = "payment.credit"
	ActionPaymentStatus     = "payment.status"
	ActionPaymentMismatch   = "payment.mismatch"
	ActionPaymentRefund     = "payment.refund"
	ActionPaymentDispute    = "payment.dispute"
	ActionBillingUsageClose = "billing.usage_close"
	ActionBillingLimitsSet  = "billing.limits_set"

	ActionTerminalSessionStart = "terminal.session_start"
	ActionTerminalSessionEnd   = "terminal.session_end"

	// ActionSSHSessionStart and End bracket one SSH connection carried to
	// an allocation over the API's websocket.
	ActionSSHSessionStart = "ssh.session_start"
	ActionSSHSessionEnd   = "ssh.session_end"

	// Storage: changes to a namespace's files through the API (target
	// type storage_namespace, target id the namespace), and an admin's
	// change of its quota.
	ActionStorageUpload   = "storage.upload"
	ActionStorageMkdir    = "storage.mkdir"
	ActionStorageRename   = "storage.rename"
	ActionStorageDelete   = "storage.delete"
	ActionStorageQuotaSet = "storage.quota_set"
	// Catalogue administration (package inventory).
	ActionRegionCreated   = "region.create"
	ActionRegionRenamed   = "region.rename"
	ActionRegionDeleted   = "region.delete"
	ActionSKUCreated      = "sku.create"
	ActionSKURenamed      = "sku.rename"
	ActionSKUPriceChanged = "sku.price_change"
	ActionSKUDeactivated  = "sku.deactivate"
	ActionSKUActivated    = "sku.activate"
	// Teams (package teams): target type team, target id the team's id.
	ActionTeamCreated       = "team.create"
	ActionTeamRenamed       = "team.rename"
	ActionTeamMemberAdded   = "team.member_add"
	ActionTeamMemberRole    = "team.member_role"
	ActionTeamMemberRemoved = "team.member_remove"
)

var allowedKeys = map[string][]string{
	ActionLoginSucceeded:     {"username", "method", "provider"},
	ActionLoginFailed:        {"username", "reason", "method", "provider"},
	ActionLogout:             {"refresh_token_revoked"},
	ActionRefreshReuse:       {"family_id"},
	ActionPasswordChanged:    {"sessions_revoked"},
	ActionAPITokenCreated:    {"name", "scopes", "expires_at"},
	ActionAPITokenRevoked:    {"name"},
	ActionUserCreated:        {"username", "role"},
	ActionUserRoleChanged:    {"from", "to", "sessions_revoked"},
	ActionNodeCreated:        {"hostname", "region"},
	ActionNodeDisabled:       {"admin_state_from", "admin_state_to"},
	ActionNodeEnabled:        {"admin_state_from", "admin_state_to"},
	ActionNodeCordoned:       {"admin_state_from", "admin_state_to", "reason"},
	ActionSigningKeyRotate:   {"kid"},
	ActionNodeDrained:        {"admin_state_from", "reason", "deadline", "allocations"},
	ActionNodeUndrained:      {"reason", "deadline"},
	ActionNodeDecommissioned: {"admin_state_from", "credentials_revoked"},

	ActionAllocationTransition:   {"status_from", "status_to", "reason"},
	ActionAllocationForceRelease: {"reason", "status_from", "user_id"},

	ActionUserEmailChanged:      {"from", "to"},
	ActionUserSuspended:         {"reason", "release_allocations", "released", "sessions_revoked"},
	ActionUserUnsuspended:       {"suspended_at"},
	ActionUserDeleted:           {"ssh_keys_deleted", "sessions_revoked"},
	ActionPasswordResetIssued:   {"expires_at", "replaced"},
	ActionPasswordResetRedeemed: {"sessions_revoked"},

	ActionNodeJoinTokenIssued:    {"expires_at", "revoked_older"},
	ActionNodeJoined:             {"credential_id", "revoked_credentials"},
	ActionNodeCredentialsRevoked: {"revoked"},

	ActionSSHKeyAdded:   {"fingerprint", "name"},
	ActionSSHKeyDeleted: {"fingerprint", "name"},

	ActionBillingAdjustment: {"amount_minor", "reason", "currency"},

	ActionPaymentCheckout:   {"amount_minor", "currency", "stripe_checkout_session_id"},
	ActionPaymentCredited:   {"amount_minor", "currency", "stripe_checkout_session_id", "source", "event_id"},
	ActionPaymentStatus:     {"status_from", "status_to", "source", "event_id"},
	ActionPaymentMismatch:   {"reason", "stripe_checkout_session_id", "source", "event_id"},
	ActionPaymentRefund:     {"amount_minor", "currency", "reason", "refunded_minor", "source", "stripe_refund_id", "event_id"},
	ActionPaymentDispute:    {"dispute_id", "amount_minor", "dispute_status", "event_id"},
	ActionBillingUsageClose: {"ended_at", "seconds", "amount_minor"},
	ActionBillingLimitsSet:  {"user_id", "max_concurrent_gpus", "max_monthly_spend_minor", "max_burn_per_hour_minor", "from"},

	ActionTerminalSessionStart: {"node_id"},
	ActionTerminalSessionEnd:   {"bytes_in", "bytes_out", "exit_code", "reason"},

	ActionSSHSessionStart: {"node_id"},
	ActionSSHSessionEnd:   {"bytes_in", "bytes_out", "reason"},

	ActionStorageUpload:   {"region", "path", "size", "replaced"},
	ActionStorageMkdir:    {"region", "path"},
	ActionStorageRename:   {"region", "from", "to"},
	ActionStorageDelete:   {"region", "path", "recursive", "freed_bytes"},
	ActionStorageQuotaSet: {"region", "quota_bytes", "user_id"},
	ActionRegionCreated:   {"name"},
	ActionRegionRenamed:   {"from", "to"},
	ActionRegionDeleted:   {"name"},
	ActionSKUCreated:      {"name", "region", "gpu_model", "gpu_count", "price_per_hour_minor", "currency"},
	ActionSKURenamed:      {"from", "to"},
	ActionSKUPriceChanged: {"from_minor", "to_minor", "currency"},
	ActionSKUDeactivated:  {},
	ActionSKUActivated:    {},

	ActionTeamCreated:       {"slug", "name"},
	ActionTeamRenamed:       {"from", "to"},
	ActionTeamMemberAdded:   {"username", "user_id", "role"},
	ActionTeamMemberRole:    {"username", "user_id", "from", "to"},
	ActionTeamMemberRemoved: {"username", "user_id", "role", "left"},
}

// Entry is one audited event. The correlation id and client address come
// from the context.
type Entry struct {
	Actor      uuid.UUID // uuid.Nil when no user is known
	Action     string
	TargetType string
	TargetID   string
	Metadata   map[string]any
}

// Record writes e through q, which should be the transaction that makes the
// change being audited.
func Record(ctx context.Context, q *db.Queries, e Entry) error {
	row, err := Row(ctx, e)
	if err != nil {
		return err
	}
	if err := q.InsertAuditLog(ctx, row); err != nil {
		return fmt.Errorf("write audit row %s: %w", e.Action, err)
	}
	return nil
}

// Row checks e and renders it as the row Record writes, for a caller that
// writes it together with something else (RecordWithEvent).
func Row(ctx context.Context, e Entry) (db.InsertAuditLogParams, error) {
	keys, ok := allowedKeys[e.Action]
	if !ok {
		return db.InsertAuditLogParams{}, fmt.Errorf("audit: unknown action %q", e.Action)
	}
	for k := range e.Metadata {
		if !slices.Contains(keys, k) {
			return db.InsertAuditLogParams{}, fmt.Errorf("audit: metadata key %q is not allowed for %s", k, e.Action)
		}
	}
	meta := e.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return db.InsertAuditLogParams{}, fmt.Errorf("audit: encode metadata: %w", err)
	}
	return db.InsertAuditLogParams{
		ActorUserID:   uuid.NullUUID{UUID: e.Actor, Valid: e.Actor != uuid.Nil},
		Action:        e.Action,
		TargetType:    e.TargetType,
		TargetID:      e.TargetID,
		Metadata:      raw,
		CorrelationID: reqctx.RequestID(ctx),
		ClientIp:      reqctx.ClientIP(ctx),
	}, nil
}

// RecordWithEvent writes e and the outbox row ev (from events.Row) in one
// statement: a state change's audit row and its event, one round trip.
func RecordWithEvent(ctx context.Context, tx *store.Store, e Entry, ev db.InsertOutboxParams) error {
	row, err := Row(ctx, e)
	if err != nil {
		return err
	}
	// Nothing reads the result: it goes with the transaction's next
	// statement or its COMMIT.
	if err := tx.Later().InsertAuditLogAndOutbox(ctx, db.InsertAuditLogAndOutboxParams{
		EventID: ev.ID, EventType: ev.Type, EventSubject: ev.Subject, EventPayload: ev.Payload,
		ActorUserID: row.ActorUserID, Action: row.Action, TargetType: row.TargetType, TargetID: row.TargetID,
		Metadata: row.Metadata, CorrelationID: row.CorrelationID, ClientIp: row.ClientIp,
	}); err != nil {
		return fmt.Errorf("write audit row %s and event %s: %w", e.Action, ev.Type, err)
	}
	tx.EventsWritten()
	return nil
}
