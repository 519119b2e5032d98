// Package web is the browser console: a React app in this folder, built by
// Vite into dist/ (`npm ci && npm run build`) and embedded here so the one
// gpuaas binary serves it (internal/webui). A tree where the console was
// never built still compiles: dist/ then holds only .gitkeep, and the
// server answers with a page that says how to build it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built console, rooted at dist/ (index.html, assets/...).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only on an invalid name, and "dist" is valid.
		panic(err)
	}
	return sub
}
