package devenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

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

// devKeyComment is the comment dev puts on its own database: which master
// key the data in it is sealed with.
const devKeyComment = "gpuaas dev, master key "

// BindDatabase keeps dev's own database (databaseURL, which dev created)
// with the master key in keyFile. Each checkout generates its own key, so a
// second checkout, or a deleted data dir, meets a database whose sealed data
// (signing keys, secrets) no key here opens: dev then starts that database
// afresh, saying why, instead of failing. The key is named by a fingerprint
// in the database's comment; a database from before the comment existed is
// taken as this key's unless the key is new (newKey).
func BindDatabase(ctx context.Context, databaseURL, keyFile string, newKey bool, log *slog.Logger) error {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("read the master key: %w", err)
	}
	sum := sha256.Sum256(raw)
	want := devKeyComment + hex.EncodeToString(sum[:8])
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to the server's maintenance database: %w", err)
	}
	defer admin.Close(ctx)
	var comment *string
	if err := admin.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment); err != nil {
		return fmt.Errorf("read database %s: %w", name, err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	switch {
	case comment != nil && *comment == want:
		return nil
	case (comment == nil || *comment == "") && !newKey:
		// Made before dev named its key: it is this key's.
	case comment != nil && *comment != "" && !strings.HasPrefix(*comment, devKeyComment):
		return fmt.Errorf("database %s is not dev's own (its comment is %q); pass --database-url", name, *comment)
	default:
		log.Warn("the dev database was made with another master key (another checkout, or a deleted data dir); nothing sealed in it opens with this key, so dev starts it afresh",
			"database", name, "key_file", keyFile)
		if _, err := admin.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+ident+" IS "+quote(want)); err != nil {
		return fmt.Errorf("name the master key of database %s: %w", name, err)
	}
	return nil
}

// quote is a SQL string literal of s (COMMENT takes no parameters).
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
