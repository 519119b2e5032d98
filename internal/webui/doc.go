// Package webui serves the built web console (package web's embedded
// dist/) at every path the API and operations side does not own: files as
// they are, hashed assets cached for a year, and index.html for any other
// page path so the single-page app can route it. When the console was not
// built it serves a page that says how to build it.
//
// It owns the console's HTTP surface (cache and security headers, the SPA
// fallback, which paths are the console's); it must not answer anything
// under /api/, /ws/ or the health, metrics and JWKS routes, which stay the
// router's (and keep their JSON error envelope).
package webui
