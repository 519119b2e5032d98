package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
)

// runRotateSigningKey makes a new JWT signing key the signer. Running
// replicas pick it up within a minute; tokens signed by the old key keep
// verifying until they expire, so nobody is signed out.
func runRotateSigningKey(args []string, stdout, stderr io.Writer) int {
	cfg := config.DefaultServer()
	fs := flag.NewFlagSet("rotate-signing-key", flag.ContinueOnError)
	registerMigrate(&cfg, fs)
	fs.StringVar(&cfg.SecretKeyFile, "secret-key-file", cfg.SecretKeyFile, "file holding the master key the signing keys are sealed with")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: gpuaas rotate-signing-key [flags]\n\n"+
				"Make a new access-token signing key the signer and retire the others; they keep\n"+
				"verifying until the tokens they signed expire.\n\nflags [env twin] (default):\n")
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: %v\n", err)
		return exitUsage
	}
	if cfg.SecretKeyFile == "" {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: %v\n", config.Invalid("secret-key-file", "required"))
		return exitUsage
	}
	masterKey, err := secrets.LoadMasterKey(cfg.SecretKeyFile)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: --secret-key-file: %v\n", err)
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	st, err := store.Open(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: --database-url: %v\n", err)
		return exitFailed
	}
	defer st.Close()
	if _, err := store.Migrate(ctx, st.Pool()); err != nil {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: %v\n", err)
		return exitFailed
	}
	// Only the keyring is used: no logins, so no shared hot state is needed.
	svc := auth.New(auth.Config{}, st, kv.NewMemory(nil), nil, masterKey, nil)
	if err := svc.EnsureSigningKey(ctx); err != nil {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: %v\n", err)
		return exitFailed
	}
	kid, err := svc.RotateSigningKey(ctx, uuid.Nil)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas rotate-signing-key: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "new signing key %s; replicas switch to it within a minute\n", kid)
	return exitOK
}
