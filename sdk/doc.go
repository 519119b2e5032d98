// Package sdk is the Go client of the GPUaaS HTTP API. The CLI, the node
// agent and the tests all talk to the control plane through it, so a route
// is called the same way everywhere.
//
// It owns request building, bearer tokens (a fixed token or a TokenSource
// that refreshes), the error envelope (*Error) and cursor paging. It uses
// the request and response types generated into package api and must not
// import any server-side package: it sees the platform only as an HTTP
// client would.
package sdk
