package server

import (
	"crypto/subtle"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/apps"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/webui"
	"github.com/gpuaas/gpuaas/web"
)

// storageUploadPath is the one route whose body --max-body-bytes does not bound.
const storageUploadPath = "/api/v1/storage/upload"

// Router builds the route table. It is exported for the contract test,
// which holds the registered routes against api/openapi.yaml.
func (a *App) Router() *httpapi.Router {
	rt := httpapi.NewRouter()
	rt.HandleFunc("GET", "/healthz", a.healthz)
	rt.HandleFunc("GET", "/readyz", a.readyz)
	if a.Config.MetricsListen == "" {
		rt.Handle("GET", "/metrics", a.metrics())
	}
	if !a.Roles["api"] {
		return rt
	}
	rt.HandleFunc("GET", "/.well-known/jwks.json", a.jwks)

	// Public: sign-in has its own per-username and per-IP limits.
	rt.Handle("POST", "/api/v1/auth/personal/login", serve(a.login))
	rt.Handle("POST", "/api/v1/auth/token/refresh", serve(a.refresh))
	rt.Handle("POST", "/api/v1/auth/password-reset", serve(a.redeemPasswordReset))
	rt.Handle("GET", "/api/v1/auth/providers", serve(a.authProviders))
	rt.HandleFunc("GET", "/api/v1/auth/oidc/{provider}/authorize", a.oidcAuthorize)
	rt.HandleFunc("GET", "/api/v1/auth/oidc/{provider}/callback", a.oidcCallback)
	rt.Handle("POST", "/api/v1/agent/join", serve(a.agentJoin))
	rt.Handle("GET", "/api/v1/agent/connect", a.agentSessions.track(a.Agents))
	rt.Handle("GET", "/api/v1/agent/binary", serve(a.agentBinary))
	rt.Handle("GET", "/ws/notifications", a.sessions.track(http.HandlerFunc(a.notifications)))
	rt.Handle("GET", "/ws/terminal/{allocation_id}", a.sessions.track(http.HandlerFunc(a.terminalSession)))
	rt.Handle("GET", "/api/v1/internal/stats", serve(a.internalStats))
	rt.Handle("GET", "/api/v1/apps/ticket", serve(a.redeemAppTicket))
	// Stripe's webhook: its signature is the authentication.
	rt.Handle("POST", "/api/v1/payments/webhooks/stripe", serve(a.stripeWebhook))
	rt.Handle("GET", agentgw.RelayPath, a.sessions.track(http.HandlerFunc(a.Agents.ServeRelay)))

	// Signed in: each route names the scope an API token needs
	// (middleware.go); interactive sessions have every scope.
	rt.Handle("POST", "/api/v1/auth/logout", a.user(needSession, a.logout))
	rt.Handle("GET", "/api/v1/users/me", a.user(needRead, a.me))
	rt.Handle("POST", "/api/v1/users/me/password", a.user(needSession, a.changePassword))
	rt.Handle("GET", "/api/v1/users/me/tokens", a.user(needRead, a.listAPITokens))
	rt.Handle("POST", "/api/v1/users/me/tokens", a.user(needSession, a.createAPIToken))
	rt.Handle("DELETE", "/api/v1/users/me/tokens/{token_id}", a.user(needSession, a.revokeAPIToken))
	// Teams: reading needs read; changing who is in a team, a session.
	rt.Handle("GET", "/api/v1/teams", a.user(needRead, a.listTeams))
	rt.Handle("POST", "/api/v1/teams", a.user(needSession, a.createTeam))
	rt.Handle("GET", "/api/v1/teams/{slug}", a.user(needRead, a.getTeam))
	rt.Handle("PATCH", "/api/v1/teams/{slug}", a.user(needSession, a.updateTeam))
	rt.Handle("POST", "/api/v1/teams/{slug}/members", a.user(needSession, a.addTeamMember))
	rt.Handle("PATCH", "/api/v1/teams/{slug}/members/{username}", a.user(needSession, a.updateTeamMember))
	rt.Handle("DELETE", "/api/v1/teams/{slug}/members/{username}", a.user(needSession, a.removeTeamMember))
	rt.Handle("GET", "/api/v1/skus", a.user(needRead, a.listSKUs))
	rt.Handle("GET", "/api/v1/launchables", a.user(needRead, a.listLaunchables))
	rt.Handle("GET", "/api/v1/nodes", a.user(needRead, a.listNodes))
	rt.Handle("POST", "/api/v1/allocations", a.user(needAlloc, a.createAllocation))
	rt.Handle("GET", "/api/v1/allocations", a.user(needAllocRead, a.listAllocations))
	rt.Handle("GET", "/api/v1/allocations/{allocation_id}", a.user(needAllocRead, a.getAllocation))
	rt.Handle("POST", "/api/v1/allocations/{allocation_id}/release", a.user(needAlloc, a.releaseAllocation))
	rt.Handle("POST", "/api/v1/allocations/{allocation_id}/terminal-token", a.user(needAlloc, a.mintTerminalToken))
	rt.Handle("POST", "/api/v1/allocations/{allocation_id}/apps/{port_name}/ticket", a.user(needAlloc, a.mintAppTicket))
	rt.Handle("GET", "/api/v1/allocations/{allocation_id}/ssh", a.sessions.track(a.user(needAlloc, a.sshSession)))
	rt.Handle("GET", "/api/v1/allocations/{allocation_id}/events", a.user(needAllocRead, a.allocationEvents))
	rt.Handle("GET", "/api/v1/allocations/{allocation_id}/metrics", a.user(needAllocRead, a.allocationMetrics))
	// Logs may follow for as long as the client stays: a long-lived
	// request, ended at shutdown like a terminal.
	rt.Handle("GET", "/api/v1/allocations/{allocation_id}/logs", a.sessions.track(a.user(needAllocRead, a.allocationLogs)))
	rt.Handle("GET", "/api/v1/ssh-keys", a.user(needRead, a.listSSHKeys))
	rt.Handle("POST", "/api/v1/ssh-keys", a.user(needAlloc, a.addSSHKey))
	rt.Handle("DELETE", "/api/v1/ssh-keys/{key_id}", a.user(needAlloc, a.deleteSSHKey))
	rt.Handle("GET", "/api/v1/billing/balance", a.user(needBilling, a.billingBalance))
	rt.Handle("GET", "/api/v1/billing/usage", a.user(needBilling, a.billingUsage))
	rt.Handle("GET", "/api/v1/billing/usage/csv", a.user(needBilling, a.billingUsageCSV))
	rt.Handle("GET", "/api/v1/billing/storage-charges", a.user(needBilling, a.billingStorageCharges))
	rt.Handle("GET", "/api/v1/billing/limits", a.user(needBilling, a.billingLimits))
	rt.Handle("GET", "/api/v1/billing/daily-spend", a.user(needBilling, a.billingDailySpend))
	rt.Handle("GET", "/api/v1/users/me/notification-preferences", a.user(needRead, a.getNotificationPreferences))
	rt.Handle("PUT", "/api/v1/users/me/notification-preferences", a.user(needSession, a.setNotificationPreferences))
	rt.Handle("GET", "/api/v1/payments/config", a.user(needRead, a.paymentsConfig))
	rt.Handle("POST", "/api/v1/payments/checkout-sessions", a.user(needBilling, a.createCheckoutSession))
	rt.Handle("GET", "/api/v1/payments", a.user(needBilling, a.listPayments))
	rt.Handle("GET", "/api/v1/payments/{payment_id}", a.user(needBilling, a.getPayment))
	rt.Handle("POST", "/api/v1/payments/portal-session", a.user(needBilling, a.createPortalSession))
	rt.Handle("GET", "/api/v1/notifications", a.user(needRead, a.listNotifications))
	rt.Handle("POST", "/api/v1/notifications/read", a.user(needSession, a.markNotificationsRead))
	rt.Handle("GET", "/api/v1/storage/list", a.user(needRead, a.storageList))
	rt.Handle("GET", "/api/v1/storage/download", a.user(needRead, a.storageDownload))
	rt.Handle("PUT", storageUploadPath, a.user(needAlloc, a.storageUpload))
	rt.Handle("POST", "/api/v1/storage/mkdir", a.user(needAlloc, a.storageMkdir))
	rt.Handle("POST", "/api/v1/storage/rename", a.user(needAlloc, a.storageRename))
	rt.Handle("DELETE", "/api/v1/storage/delete", a.user(needAlloc, a.storageDelete))
	rt.Handle("GET", "/api/v1/storage/usage", a.user(needRead, a.storageUsage))

	// Admins.
	rt.Handle("GET", "/api/v1/admin/nodes", a.admin(a.adminListNodes))
	rt.Handle("POST", "/api/v1/admin/nodes", a.admin(a.adminCreateNode))
	rt.Handle("GET", "/api/v1/admin/nodes/{node_id}", a.admin(a.adminGetNode))
	rt.Handle("GET", "/api/v1/admin/nodes/{node_id}/metrics", a.admin(a.adminNodeMetrics))
	rt.Handle("DELETE", "/api/v1/admin/nodes/{node_id}", a.admin(a.adminDisableNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/enable", a.admin(a.adminEnableNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/drain", a.admin(a.adminDrainNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/undrain", a.admin(a.adminUndrainNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/decommission", a.admin(a.adminDecommissionNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/join-token", a.admin(a.adminIssueJoinToken))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/probe", a.admin(a.adminProbeNode))
	rt.Handle("POST", "/api/v1/admin/nodes/{node_id}/revoke-credentials", a.admin(a.adminRevokeNodeCredentials))
	rt.Handle("GET", "/api/v1/admin/regions", a.admin(a.adminListRegions))
	rt.Handle("POST", "/api/v1/admin/regions", a.admin(a.adminCreateRegion))
	rt.Handle("PATCH", "/api/v1/admin/regions/{region_slug}", a.admin(a.adminUpdateRegion))
	rt.Handle("DELETE", "/api/v1/admin/regions/{region_slug}", a.admin(a.adminDeleteRegion))
	rt.Handle("GET", "/api/v1/admin/skus", a.admin(a.adminListSKUs))
	rt.Handle("POST", "/api/v1/admin/skus", a.admin(a.adminCreateSKU))
	rt.Handle("GET", "/api/v1/admin/skus/suggestions", a.admin(a.adminSKUSuggestions))
	rt.Handle("PATCH", "/api/v1/admin/skus/{sku_id}", a.admin(a.adminUpdateSKU))
	rt.Handle("GET", "/api/v1/admin/skus/{sku_id}/prices", a.admin(a.adminListSKUPrices))
	rt.Handle("GET", "/api/v1/admin/users", a.admin(a.adminListUsers))
	rt.Handle("POST", "/api/v1/admin/users", a.admin(a.adminCreateUser))
	rt.Handle("GET", "/api/v1/admin/users/{user_id}", a.admin(a.adminGetUser))
	rt.Handle("PATCH", "/api/v1/admin/users/{user_id}", a.admin(a.adminUpdateUser))
	rt.Handle("DELETE", "/api/v1/admin/users/{user_id}", a.admin(a.adminDeleteUser))
	rt.Handle("POST", "/api/v1/admin/users/{user_id}/suspend", a.admin(a.adminSuspendUser))
	rt.Handle("POST", "/api/v1/admin/users/{user_id}/unsuspend", a.admin(a.adminUnsuspendUser))
	rt.Handle("POST", "/api/v1/admin/users/{user_id}/password-reset", a.admin(a.adminIssuePasswordReset))
	rt.Handle("GET", "/api/v1/admin/audit-logs", a.admin(a.adminListAuditLogs))
	rt.Handle("GET", "/api/v1/admin/audit-logs/export", a.admin(a.adminExportAuditLogs))
	rt.Handle("GET", "/api/v1/admin/audit-actions", a.admin(a.adminListAuditActions))
	rt.Handle("GET", "/api/v1/admin/allocations", a.admin(a.adminListAllocations))
	rt.Handle("GET", "/api/v1/admin/allocations/{allocation_id}", a.admin(a.adminGetAllocation))
	rt.Handle("POST", "/api/v1/admin/allocations/{allocation_id}/force-release", a.admin(a.adminForceRelease))
	rt.Handle("POST", "/api/v1/admin/allocations/{allocation_id}/usage/close", a.admin(a.adminCloseUsage))
	rt.Handle("GET", "/api/v1/admin/users/{user_id}/balance", a.admin(a.adminUserBalance))
	rt.Handle("POST", "/api/v1/admin/users/{user_id}/balance", a.admin(a.adminAdjustBalance))
	rt.Handle("GET", "/api/v1/admin/teams", a.admin(a.adminListTeams))
	rt.Handle("GET", "/api/v1/admin/teams/{slug}/balance", a.admin(a.adminTeamBalance))
	rt.Handle("POST", "/api/v1/admin/teams/{slug}/balance", a.admin(a.adminAdjustTeamBalance))
	rt.Handle("GET", "/api/v1/admin/teams/{slug}/limits", a.admin(a.adminGetTeamLimits))
	rt.Handle("PUT", "/api/v1/admin/teams/{slug}/limits", a.admin(a.adminSetTeamLimits))
	rt.Handle("GET", "/api/v1/admin/payments", a.admin(a.adminListPayments))
	rt.Handle("POST", "/api/v1/admin/payments/reconcile", a.admin(a.adminReconcilePayments))
	rt.Handle("GET", "/api/v1/admin/payments/{payment_id}", a.admin(a.adminGetPayment))
	rt.Handle("POST", "/api/v1/admin/payments/{payment_id}/refunds", a.admin(a.adminRefundPayment))
	rt.Handle("GET", "/api/v1/admin/overview", a.admin(a.adminOverview))
	rt.Handle("GET", "/api/v1/admin/dead-letters", a.admin(a.adminListDeadLetters))
	rt.Handle("GET", "/api/v1/admin/users/{user_id}/storage-quota", a.admin(a.adminGetStorageQuota))
	rt.Handle("PUT", "/api/v1/admin/users/{user_id}/storage-quota", a.admin(a.adminSetStorageQuota))
	rt.Handle("GET", "/api/v1/admin/users/{user_id}/limits", a.admin(a.adminGetUserLimits))
	rt.Handle("PUT", "/api/v1/admin/users/{user_id}/limits", a.admin(a.adminSetUserLimits))
	return rt
}

// Handler is the whole HTTP stack: request id first (so every response,
// errors included, carries X-Request-ID), then panic recovery, metrics and
// the access log, hostile text in the path or query, the body limit, and
// the routes.
func (a *App) Handler() http.Handler {
	var h http.Handler = a.Router()
	if a.Roles["api"] {
		// The web console answers GET/HEAD on every path the routes do not
		// own (internal/webui); it is not a route, so the contract test
		// does not see it.
		h = webui.Mount(h, webui.New(web.Dist()))
	}
	// A file upload's body is the file: multi-GiB, streamed, held to the
	// namespace's quota instead of --max-body-bytes.
	h = httpapi.LimitBodyExcept(a.Config.MaxBodyBytes, func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Path == storageUploadPath
	})(h)
	h = httpapi.CheckInput(h)
	if a.Roles["api"] {
		// Apps take any path, query and body size the app does; they are
		// not routes of ours, so the contract test does not see them.
		h = apps.Mount(h, a.AppProxy)
	}
	h = httpapi.Observe(httpapi.NewMetrics(a.Registry), h)
	h = httpapi.Recover(h)
	// Validated at start; the client address behind them feeds the
	// sign-in limits and the audit log.
	trusted, _ := config.ParseTrustedProxies(a.Config.TrustedProxies)
	return httpapi.RequestIDBehind(trusted)(h)
}

// metrics serves the Prometheus registry. The figures include revenue, so
// --metrics-token, when set, is required as a bearer token (compared in
// constant time); unset, they stay open as before.
func (a *App) metrics() http.Handler {
	prom := promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
	want := a.Config.MetricsToken
	if want == "" {
		return prom
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := bearer(r)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			httpapi.WriteError(w, r, apperr.Unauthorized("", "a valid metrics token is required"))
			return
		}
		prom.ServeHTTP(w, r)
	})
}

// MetricsHandler is what --metrics-listen serves: /metrics alone, with the
// request id, recovery and the envelope for anything else.
func (a *App) MetricsHandler() http.Handler {
	rt := httpapi.NewRouter()
	rt.Handle("GET", "/metrics", a.metrics())
	return httpapi.RequestID(httpapi.Recover(rt))
}
