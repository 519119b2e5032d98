package tlsreload

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Certificate is the current key pair of certFile and keyFile.
type Certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads certFile and keyFile, which must hold a matching PEM
// certificate (chain) and private key.
func Load(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Check says why certFile and keyFile cannot be served, or nil.
func Check(certFile, keyFile string) error {
	_, err := read(certFile, keyFile)
	return err
}

func read(certFile, keyFile string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair %s, %s: %w", certFile, keyFile, err)
	}
	if pair.Leaf == nil && len(pair.Certificate) > 0 {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse TLS certificate %s: %w", certFile, err)
		}
	}
	return &pair, nil
}

// Reload reads the files again; on failure the certificate in use stays.
func (c *Certificate) Reload() error {
	pair, err := read(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cur.Store(pair)
	if pair.Leaf != nil {
		slog.Info("TLS certificate loaded", "file", c.certFile, "subject", pair.Leaf.Subject.String(),
			"dns_names", pair.Leaf.DNSNames, "not_after", pair.Leaf.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// GetCertificate is tls.Config's hook: the certificate as last loaded.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Config is a server TLS configuration serving c: TLS 1.2 or later, and
// HTTP/1.1 only (websockets, the agent connection and the app proxy
// hijack their connections, which HTTP/2 does not allow).
func (c *Certificate) Config() *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}
