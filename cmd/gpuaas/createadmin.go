package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/users"
)

// runCreateAdmin makes an admin account straight in the database: how an
// operator gets the first admin of a production install, before anyone can
// sign in to create one through the API. The password comes from stdin or
// GPUAAS_ADMIN_PASSWORD, never from a flag (it would show in ps).
func runCreateAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg := config.DefaultServer()
	fs := flag.NewFlagSet("create-admin", flag.ContinueOnError)
	registerMigrate(&cfg, fs)
	var username, email string
	var fromStdin bool
	fs.StringVar(&username, "username", "", "the admin's username")
	fs.StringVar(&email, "email", "", "the admin's email address")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin (else GPUAAS_ADMIN_PASSWORD)")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: gpuaas create-admin --username NAME --email ADDR [--password-stdin]\n\n"+
				"Create an admin account directly in the database (migrating it first), for the\n"+
				"first admin of an installation. The password is read from stdin with\n"+
				"--password-stdin, or from GPUAAS_ADMIN_PASSWORD.\n\nflags [env twin] (default):\n")
			config.Usage(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "gpuaas create-admin: %v\n", err)
		return exitUsage
	}
	password := os.Getenv("GPUAAS_ADMIN_PASSWORD")
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "gpuaas create-admin: read password: %v\n", err)
			return exitFailed
		}
		password = strings.TrimRight(line, "\r\n")
	}
	switch {
	case username == "":
		fmt.Fprintf(stderr, "gpuaas create-admin: %v\n", config.Invalid("username", "required"))
		return exitUsage
	case email == "":
		fmt.Fprintf(stderr, "gpuaas create-admin: %v\n", config.Invalid("email", "required"))
		return exitUsage
	case password == "":
		fmt.Fprintln(stderr, "gpuaas create-admin: no password: pass --password-stdin or set GPUAAS_ADMIN_PASSWORD")
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	st, err := store.Open(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas create-admin: --database-url: %v\n", err)
		return exitFailed
	}
	defer st.Close()
	if _, err := store.Migrate(ctx, st.Pool()); err != nil {
		fmt.Fprintf(stderr, "gpuaas create-admin: %v\n", err)
		return exitFailed
	}
	u, err := users.New(st).Create(ctx, uuid.Nil, users.CreateParams{
		Username: username, Email: email, Password: password, Role: "admin",
	})
	if e, ok := apperr.As(err); ok {
		fmt.Fprintf(stderr, "gpuaas create-admin: %s: %s\n", e.Code, e.Message)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "gpuaas create-admin: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "created admin %s (%s)\n", u.Username, u.Id)
	return exitOK
}
