// Package api holds the platform's contracts: openapi.yaml (HTTP) and, from
// the lifecycle work on, asyncapi.yaml (events). The Go types in
// types.gen.go are generated from openapi.yaml by `make gen`; the server and
// the SDK both use them, so a shape is written once. A test regenerates
// them and fails on drift.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml

import _ "embed"

// OpenAPI is the HTTP contract, served to tests that check code against it.
//
//go:embed openapi.yaml
var OpenAPI []byte
