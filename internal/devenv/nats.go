package devenv

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// NATS is an embedded NATS server with JetStream.
type NATS struct {
	srv *natsserver.Server
}

// StartNATS starts NATS with JetStream on a free loopback port, keeping its
// streams under dataDir/nats, so it survives restarts and coexists with a
// system NATS on 4222 and with other dev instances (each with its own data
// directory).
func StartNATS(dataDir string, log *slog.Logger) (*NATS, error) {
	opts := &natsserver.Options{
		ServerName: "gpuaas-dev",
		Host:       "127.0.0.1",
		Port:       natsserver.RANDOM_PORT,
		HTTPPort:   0, // no monitoring endpoint
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		NoSigs:     true, // the dev process owns signal handling
	}
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure embedded nats: %w", err)
	}
	srv.SetLoggerV2(natsLogger{log.With("component", "nats")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats did not start within 30s (store %s)", opts.StoreDir)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats started without JetStream (store %s)", opts.StoreDir)
	}
	return &NATS{srv: srv}, nil
}

// ClientURL is the nats:// URL clients connect to.
func (n *NATS) ClientURL() string { return n.srv.ClientURL() }

// Shutdown stops the server and waits until it has, so JetStream has
// flushed its store.
func (n *NATS) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// natsLogger sends the embedded server's log lines to slog; its notices
// are chatty start-up detail, so they go at debug level.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.at(slog.LevelDebug, format, v) }
func (l natsLogger) Warnf(format string, v ...any)   { l.at(slog.LevelWarn, format, v) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.at(slog.LevelError, format, v) }
func (l natsLogger) Errorf(format string, v ...any)  { l.at(slog.LevelError, format, v) }
func (l natsLogger) Debugf(format string, v ...any)  { l.at(slog.LevelDebug, format, v) }
func (l natsLogger) Tracef(format string, v ...any)  { l.at(slog.LevelDebug, format, v) }

func (l natsLogger) at(level slog.Level, format string, v []any) {
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}
