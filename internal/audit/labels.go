package audit

import (
	"regexp"
	"sort"
	"strings"
)

// labels are the readable names of the actions, as an admin would search
// for them ("Force release", not allocation.force_release).
var labels = map[string]string{
	ActionLoginSucceeded:     "Sign-in",
	ActionLoginFailed:        "Failed sign-in",
	ActionLogout:             "Sign-out",
	ActionRefreshReuse:       "Stolen session detected (refresh token reused)",
	ActionPasswordChanged:    "Password change",
	ActionAPITokenCreated:    "API token created",
	ActionAPITokenRevoked:    "API token revoked",
	ActionUserCreated:        "User created",
	ActionUserRoleChanged:    "Role change",
	ActionNodeCreated:        "Node registered",
	ActionNodeDisabled:       "Node disabled",
	ActionNodeEnabled:        "Node enabled",
	ActionNodeCordoned:       "Node cordoned (GPU failure)",
	ActionSigningKeyRotate:   "Signing key rotated",
	ActionNodeDrained:        "Node drained for maintenance",
	ActionNodeUndrained:      "Node returned to service",
	ActionNodeDecommissioned: "Node decommissioned",

	ActionAllocationTransition:   "Allocation status change",
	ActionAllocationForceRelease: "Force release",

	ActionUserEmailChanged:      "Email change",
	ActionUserSuspended:         "User suspended",
	ActionUserUnsuspended:       "User unsuspended",
	ActionUserDeleted:           "User deleted",
	ActionPasswordResetIssued:   "Password reset link issued",
	ActionPasswordResetRedeemed: "Password reset by link",

	ActionNodeJoinTokenIssued:    "Node join token issued",
	ActionNodeJoined:             "Node agent joined",
	ActionNodeCredentialsRevoked: "Node credentials revoked",

	ActionSSHKeyAdded:   "SSH key added",
	ActionSSHKeyDeleted: "SSH key deleted",

	ActionBillingAdjustment: "Balance adjustment",
	ActionPaymentCheckout:   "Top-up started",
	ActionPaymentCredited:   "Top-up credited",
	ActionPaymentStatus:     "Payment status changed",
	ActionPaymentMismatch:   "Payment does not match Stripe",
	ActionPaymentRefund:     "Payment refunded",
	ActionPaymentDispute:    "Payment disputed",
	ActionBillingUsageClose: "Usage window closed by an admin",
	ActionBillingLimitsSet:  "Spend limits set",

	ActionTerminalSessionStart: "Terminal opened",
	ActionTerminalSessionEnd:   "Terminal closed",

	ActionSSHSessionStart: "SSH connection opened",
	ActionSSHSessionEnd:   "SSH connection closed",

	ActionStorageUpload:   "File uploaded",
	ActionStorageMkdir:    "Folder created",
	ActionStorageRename:   "File or folder moved",
	ActionStorageDelete:   "File or folder deleted",
	ActionStorageQuotaSet: "Storage quota set",
	ActionRegionCreated:   "Region created",
	ActionRegionRenamed:   "Region renamed",
	ActionRegionDeleted:   "Region deleted",
	ActionSKUCreated:      "SKU created",
	ActionSKURenamed:      "SKU renamed",
	ActionSKUPriceChanged: "SKU price change",
	ActionSKUDeactivated:  "SKU deactivated",
	ActionSKUActivated:    "SKU activated",

	ActionTeamCreated:       "Team created",
	ActionTeamRenamed:       "Team renamed",
	ActionTeamMemberAdded:   "Team member added",
	ActionTeamMemberRole:    "Team member's role changed",
	ActionTeamMemberRemoved: "Team member removed",
}

// categoryLabels name the categories, the part of an action before its
// first dot.
var categoryLabels = map[string]string{
	"auth":        "Sign-in and sessions",
	"user":        "Users",
	"node":        "Nodes",
	"allocation":  "Allocations",
	"billing":     "Billing",
	"payment":     "Payments",
	"ssh_key":     "SSH keys",
	"api_token":   "API tokens",
	"terminal":    "Terminals",
	"ssh":         "SSH connections",
	"storage":     "Storage",
	"signing_key": "Signing keys",
	"region":      "Regions",
	"sku":         "SKUs",
	"team":        "Teams",
}

// Label is the readable name of action; an action this build does not know
// (written by another version) reads as its code with spaces.
func Label(action string) string {
	if l, ok := labels[action]; ok {
		return l
	}
	s := strings.NewReplacer(".", ": ", "_", " ").Replace(action)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Category is the part of action before its first dot: "allocation" for
// allocation.force_release.
func Category(action string) string {
	c, _, _ := strings.Cut(action, ".")
	return c
}

// Known reports whether category names one of the categories.
func Known(category string) bool {
	_, ok := categoryLabels[category]
	return ok
}

// Categories lists the category codes, sorted.
func Categories() []string {
	out := make([]string, 0, len(categoryLabels))
	for c := range categoryLabels {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// CatalogEntry is one action with its names.
type CatalogEntry struct {
	Action, Label, Category, CategoryLabel string
}

// Catalog lists every action this build writes, by category then action.
func Catalog() []CatalogEntry {
	out := make([]CatalogEntry, 0, len(labels))
	for a, l := range labels {
		c := Category(a)
		out = append(out, CatalogEntry{Action: a, Label: l, Category: c, CategoryLabel: categoryLabels[c]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Category != out[j].Category {
			return out[i].Category < out[j].Category
		}
		return out[i].Action < out[j].Action
	})
	return out
}

// prefixRE is what an action prefix may hold: no LIKE wildcard, no escape.
var prefixRE = regexp.MustCompile(`^[a-z0-9_.]{1,64}$`)

// ValidPrefix reports whether p can be an action prefix.
func ValidPrefix(p string) bool { return prefixRE.MatchString(p) }
