// Package tlsreload serves a TLS certificate and key from files and reads
// them again on request (SIGHUP), so a renewed certificate takes effect
// without a restart and without dropping a connection: handshakes after a
// reload get the new certificate, connections already open keep theirs.
// A reload that fails (a half-written file, a key that does not match)
// keeps the certificate in use and says why.
package tlsreload
