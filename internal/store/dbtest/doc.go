// Package dbtest gives each test its own real PostgreSQL database: the
// migrations are applied once into a template named after their hash, and
// every test clones it with CREATE DATABASE ... TEMPLATE (tens of ms) and
// drops its clone on cleanup. There is no in-memory fake.
//
// GPUAAS_TEST_DATABASE_URL points at the server (default: the local
// postgres superuser over TCP).
package dbtest
