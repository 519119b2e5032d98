// Package apps owns private access to the ports of running workloads: the
// proxy that serves /apps/{allocation_id}/{port_name}/ on the control
// plane, and the one-time tickets and cookies that sign a browser in to it.
//
// A request reaches an app only through the node agent's own connection:
// the proxy opens an agentproto.StreamApp to the allocation's node (across
// replicas too, package agentgw) and the agent dials the loopback port the
// engine published for that container port; no request can name an
// address. Only the allocation's owner gets through; anyone else, and any
// allocation or port that does not exist, is 404.
//
// # Who is asking
//
// A request carries either the app's cookie or the user's access token as
// a bearer (programs). The cookie, "gpuaas_app", is set by redeeming a
// ticket (POST /api/v1/allocations/{id}/apps/{port}/ticket, then GET
// /api/v1/apps/ticket?t=…): HttpOnly, SameSite=Lax, with Path
// /apps/{id}/{port}/ so each app sees only its own. Its value is sealed
// with the master key (AES-GCM, package secrets) and names the user, the
// allocation, the port and an expiry (CookieTTL); it is checked on every
// request against the allocation's owner, who must still be active. A
// ticket is 32 random bytes whose SHA-256 is kept in the hot state for 60
// seconds and spent by its first use (kv.Store.GetDel).
//
// Neither the cookie nor the bearer reaches the app: the proxy removes
// them. For a launchable with a token_env (Jupyter), the proxy supplies
// the app's own token as "Authorization: token …", so the user never
// types it.
//
// # Paths
//
// By default the app sees its path without the /apps/{id}/{port} prefix,
// which it finds in X-Forwarded-Prefix; a launchable with keep_prefix
// (Jupyter, started with that base URL) sees the whole path. The Host
// header is kept, so an app's own origin checks (Jupyter's websockets)
// see the browser's origin. Websockets, server-sent events and large
// uploads pass through unbuffered; an app that refuses, resets or closes
// the connection before it answers is 502 app_unavailable at once.
package apps
