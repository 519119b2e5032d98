package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gpuaas/gpuaas/sdk"
)

func runLogin(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "login", "[--server URL] [--username NAME] [--password-stdin] | [--server URL] --token")
	server := fs.String("server", firstNonEmpty(env.Getenv("GPUAAS_SERVER"), DefaultServer), "control plane URL ($GPUAAS_SERVER)")
	username := fs.String("username", env.Getenv("GPUAAS_USERNAME"), "account name ($GPUAAS_USERNAME); asked for when empty on a terminal")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from standard input (else $GPUAAS_PASSWORD, else a no-echo prompt)")
	withToken := fs.Bool("token", false, "sign in with an API token (gpat_…) from $GPUAAS_TOKEN, else standard input, instead of a password")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	url, err := normalizeServer(*server)
	if err != nil {
		return err
	}
	if *withToken {
		return loginWithToken(ctx, env, url)
	}
	user := strings.TrimSpace(*username)
	if user == "" && env.ReadLine != nil {
		if user, err = env.ReadLine("Username: "); err != nil {
			return fmt.Errorf("read username: %w", err)
		}
		user = strings.TrimSpace(user)
	}
	if user == "" {
		return errUsage{errors.New("missing --username")}
	}
	password, err := readPassword(env, *passwordStdin)
	if err != nil {
		return err
	}

	c := sdk.New(url, sdk.WithHTTPClient(httpClient(env)), sdk.WithUserAgent(userAgent(env)))
	pair, err := c.Login(ctx, user, password)
	if err != nil {
		if sdk.StatusOf(err) == 0 {
			return fmt.Errorf("cannot reach %s: %w", url, err)
		}
		return err
	}
	creds := Credentials{Server: url, Username: user}.WithTokens(sdk.NewTokens(pair, time.Now()))
	path, err := CredentialsPath(env.Getenv)
	if err != nil {
		return err
	}
	if err := SaveCredentials(path, creds); err != nil {
		return err
	}
	me, err := sdk.New(url, sdk.WithHTTPClient(httpClient(env)), sdk.WithUserAgent(userAgent(env)),
		sdk.WithAccessToken(pair.AccessToken)).Me(ctx)
	if err != nil {
		return fmt.Errorf("signed in, but reading the account failed: %w", err)
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (%s).\n", url, clean(me.Username), me.Role)
	return nil
}

// apiTokenPrefix starts every API token; see package auth.
const apiTokenPrefix = "gpat_"

// loginWithToken checks an API token with GET /api/v1/users/me and keeps
// it in the credentials file like a session, without a refresh token or an
// expiry: it works until it expires or is revoked, and then every command
// answers 401 with a hint to log in again. The token is never a flag's
// value, which would leave it in the shell history and the process list.
func loginWithToken(ctx context.Context, env Env, url string) error {
	token := strings.TrimSpace(env.Getenv("GPUAAS_TOKEN"))
	if token == "" {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, 4096))
		if err != nil {
			return fmt.Errorf("read token from stdin: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return errUsage{errors.New("--token: set GPUAAS_TOKEN or pass the token on standard input")}
	}
	if !strings.HasPrefix(token, apiTokenPrefix) {
		return errUsage{errors.New("--token: an API token starts with " + apiTokenPrefix + "; create one under Settings → API tokens")}
	}
	me, err := sdk.New(url, sdk.WithHTTPClient(httpClient(env)), sdk.WithUserAgent(userAgent(env)),
		sdk.WithAccessToken(token)).Me(ctx)
	if err != nil {
		if sdk.StatusOf(err) == 0 {
			return fmt.Errorf("cannot reach %s: %w", url, err)
		}
		if sdk.HasCode(err, "insufficient_scope") {
			return fmt.Errorf("the token lacks the read scope, which login needs to check it: %w", err)
		}
		return err
	}
	path, err := CredentialsPath(env.Getenv)
	if err != nil {
		return err
	}
	if err := SaveCredentials(path, Credentials{Server: url, Username: me.Username, AccessToken: token}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s (%s) with an API token.\n", url, clean(me.Username), me.Role)
	return nil
}

// readPassword takes the password from stdin, GPUAAS_PASSWORD or a prompt,
// in that order of preference. From stdin, only the final line break is
// dropped, so a password may hold spaces.
func readPassword(env Env, fromStdin bool) (string, error) {
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, 4096))
		if err != nil {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if p == "" {
			return "", errUsage{errors.New("--password-stdin: standard input is empty")}
		}
		return p, nil
	}
	if p := env.Getenv("GPUAAS_PASSWORD"); p != "" {
		return p, nil
	}
	if env.ReadPassword != nil {
		p, err := env.ReadPassword("Password: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if p == "" {
			return "", errUsage{errors.New("empty password")}
		}
		return p, nil
	}
	return "", errUsage{errors.New("no password: use --password-stdin, set GPUAAS_PASSWORD, or run on a terminal")}
}

func runLogout(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "logout", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	s, err := openSession(env)
	if errors.Is(err, ErrNotLoggedIn) {
		fmt.Fprintln(env.Stdout, "Not logged in.")
		return nil
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(s.creds.AccessToken, apiTokenPrefix) {
		// An API token is not a session: forgetting it here leaves it valid
		// until it is revoked in the console or expires.
		if err := RemoveCredentials(s.path); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "Logged out of %s; the API token itself stays valid until revoked.\n", s.creds.Server)
		return nil
	}
	// Revoke on the server, then forget locally whatever the answer: a
	// session the server already dropped is as good as logged out, and a
	// server that cannot be reached must not keep the user signed in here.
	remoteErr := s.client.Logout(ctx, s.source.Tokens().RefreshToken)
	if err := RemoveCredentials(s.path); err != nil {
		return err
	}
	if remoteErr != nil && sdk.StatusOf(remoteErr) != 401 {
		fmt.Fprintf(env.Stderr, "warning: the server did not confirm the logout: %s\n", Describe(remoteErr))
	}
	fmt.Fprintf(env.Stdout, "Logged out of %s.\n", s.creds.Server)
	return nil
}

func runWhoami(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "whoami", "[-o table|json]")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	me, err := s.client.Me(ctx)
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, me)
	}
	fmt.Fprintf(env.Stdout, "%s (%s) <%s> on %s\n", clean(me.Username), me.Role, clean(me.Email), s.creds.Server)
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
