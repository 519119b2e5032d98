// Package reqctx carries what is known about the request being served (its
// correlation id, the client's address, and who is calling) through a
// context, so domain packages can audit and log without importing the HTTP
// layer.
package reqctx
