package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureDatabase creates the database that databaseURL names when it does
// not exist, connecting to the same server's maintenance database to do so.
// A database created at the same moment by someone else is fine. It reports
// whether it created the database.
func EnsureDatabase(ctx context.Context, databaseURL string) (bool, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return false, fmt.Errorf("parse database url: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		conn.Close(ctx)
		return false, nil
	}
	if !isCode(err, "3D000") { // invalid_catalog_name: no such database
		return false, fmt.Errorf("connect to database: %w", err)
	}
	name := cfg.Database
	var lastErr error
	for _, maint := range []string{"postgres", "template1"} {
		mcfg := cfg.Copy()
		mcfg.Database = maint
		admin, err := pgx.ConnectConfig(ctx, mcfg)
		if err != nil {
			lastErr = err
			continue
		}
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		admin.Close(ctx)
		switch {
		case err == nil:
			slog.InfoContext(ctx, "created database", "database", name)
			return true, nil
		case isCode(err, "42P04"), isCode(err, "23505"): // duplicate_database, or the race on pg_database
			return false, nil
		default:
			return false, fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return false, fmt.Errorf("create database %s: connect to the server's maintenance database: %w", name, lastErr)
}

func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}
