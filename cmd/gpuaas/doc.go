// Command gpuaas is the one binary of the platform: the control plane
// (server), the all-in-one dev environment (dev), schema migrations
// (migrate) and the user CLI (login, skus, …). It only parses and
// dispatches; the work lives in internal packages.
package main
