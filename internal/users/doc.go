// Package users owns user accounts: creating them (admins, and the dev
// seed), reading them, and listing them. Passwords are hashed by package
// password; sign-in and tokens belong to package auth.
package users
