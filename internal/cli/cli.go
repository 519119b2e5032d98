package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/gpuaas/gpuaas/sdk"
)

// DefaultServer is the control plane `gpuaas login` talks to when neither
// --server nor GPUAAS_SERVER says otherwise: where `gpuaas dev` listens.
const DefaultServer = "http://127.0.0.1:8080"

// Env is the world a verb runs in; OSEnv is the real one, tests build their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// ReadPassword prompts on the terminal and reads a line without echo;
	// nil when there is no terminal to ask.
	ReadPassword func(prompt string) (string, error)
	// ReadLine prompts on the terminal and reads a line; nil without one.
	ReadLine func(prompt string) (string, error)
	// HTTPClient is used for every API call; nil means a default with a timeout.
	HTTPClient *http.Client
	// UserAgent identifies the binary, e.g. "gpuaas/1.2.3".
	UserAgent string
}

// OSEnv is the process's own standard streams and environment.
func OSEnv() Env {
	env := Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		env.ReadPassword = func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(os.Stderr)
			return string(b), err
		}
		env.ReadLine = func(prompt string) (string, error) {
			fmt.Fprint(os.Stderr, prompt)
			return readLine(os.Stdin)
		}
	}
	return env
}

// readLine reads up to a newline one byte at a time, so nothing after the
// line is buffered away from a later no-echo read of the same terminal.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) && b.Len() > 0 {
				break
			}
			return "", err
		}
	}
	return strings.TrimRight(b.String(), "\r"), nil
}

// verb is one CLI command.
type verb struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

var verbs map[string]verb

// init fills verbs; a literal would be an initialization cycle, since the
// verbs' usage text reads the table.
func init() {
	verbs = map[string]verb{
		"login":      {"sign in and keep the session in the credentials file", runLogin},
		"logout":     {"revoke the session and forget it", runLogout},
		"whoami":     {"show the signed-in user", runWhoami},
		"skus":       {"list GPU SKUs, their prices and what is available now", runSKUs},
		"nodes":      {"list GPU nodes and their free GPUs", runNodes},
		"billing":    {"show your balance (billing balance), usage windows (billing usage), spend limits (billing limits), payments (billing payments), or add credit (billing topup)", runBilling},
		"alloc":      {"take, list, show and release GPU allocations: alloc create|ls|get|release", runAlloc},
		"keys":       {"add, list and remove your SSH public keys: keys add|ls|rm", runKeys},
		"ssh":        {"open a terminal on an allocation, or run one command: ssh [-t | -T] ALLOC [-- CMD...]; ssh --stdio ALLOC is an ssh ProxyCommand", runSSH},
		"storage":    {"your files: storage ls|cp|mv|rm|mkdir|du; a path in your storage is written :PATH in cp (cp model.pt :models/), downloads resume", runStorage},
		"config-ssh": {"write Host entries for your active allocations into ~/.ssh/config (ssh, scp, rsync, editors): config-ssh [--dry-run]", runConfigSSH},
	}
}

// IsVerb reports whether name is a CLI verb handled by Run.
func IsVerb(name string) bool {
	_, ok := verbs[name]
	return ok
}

// Verbs lists the CLI verbs with one-line summaries, sorted, for usage text.
func Verbs() [][2]string {
	var out [][2]string
	for name, v := range verbs {
		out = append(out, [2]string{name, v.summary})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// errUsage marks an error that is the caller's mistake on the command line.
type errUsage struct{ error }

// Run runs the verb name with args and returns the process exit code: 0 on
// success, 1 when the operation failed, 2 for a usage error.
func Run(ctx context.Context, env Env, name string, args []string) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	v, ok := verbs[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "gpuaas: unknown command %q\n", name)
		return 2
	}
	err := v.run(ctx, env, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	var ue errUsage
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "gpuaas %s: %v\n", name, err)
		return 2
	}
	msg := Describe(err)
	if h := hint(err, name); h != "" {
		msg += "\nhint: " + h
	}
	fmt.Fprintf(env.Stderr, "gpuaas %s: %s\n", name, msg)
	return 1
}

// Describe renders err for a person: an API error with its code, message,
// status and correlation id (to quote to an operator).
func Describe(err error) string {
	e, ok := sdk.AsError(err)
	if !ok {
		return err.Error()
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("%s: %s (HTTP %d", e.Code, msg, e.Status)
	if e.CorrelationID != "" {
		s += ", correlation id " + e.CorrelationID
	}
	return s + ")"
}

// hint is the obvious next step after err from verb, if there is one.
func hint(err error, verb string) string {
	e, ok := sdk.AsError(err)
	switch {
	case errors.Is(err, sdk.ErrSessionExpired):
		return "run `gpuaas login` again"
	case !ok:
		return ""
	case e.RetryAfter > 0:
		return fmt.Sprintf("try again in %s", e.RetryAfter)
	case e.Status == http.StatusUnauthorized && verb != "login":
		return "the session is no longer valid; run `gpuaas login` again"
	case e.Status == http.StatusForbidden && e.Code == "insufficient_scope":
		return "the API token lacks the scope this needs; create one that has it"
	case e.Status == http.StatusForbidden:
		return "this needs a role your account does not have"
	}
	return ""
}

// flagSet is a verb's flag set that prints its own usage to stderr.
func flagSet(env Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: gpuaas %s %s\n\n%s\n\nflags:\n", name, synopsis, verbs[name].summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		// The flag package has printed the problem and the usage already.
		return errUsage{err}
	}
	if fs.NArg() > 0 {
		return errUsage{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// normalizeServer checks a server URL and drops a trailing slash.
func normalizeServer(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errUsage{fmt.Errorf("invalid --server %q: want http(s)://host[:port]", raw)}
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errUsage{fmt.Errorf("invalid --server %q: no user, query or fragment", raw)}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func httpClient(env Env) *http.Client {
	if env.HTTPClient != nil {
		return env.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func userAgent(env Env) string {
	if env.UserAgent != "" {
		return env.UserAgent
	}
	return "gpuaas-cli"
}

// session is a signed-in client whose refreshed tokens are saved back.
type session struct {
	path   string
	creds  Credentials
	client *sdk.Client
	source *sdk.RefreshingTokenSource
}

// openSession loads the credentials file and builds a client that renews
// an expiring access token and writes the new pair back to the file.
func openSession(env Env) (*session, error) {
	path, err := CredentialsPath(env.Getenv)
	if err != nil {
		return nil, err
	}
	creds, err := LoadCredentials(path)
	if err != nil {
		return nil, err
	}
	s := &session{path: path, creds: creds}
	base := sdk.New(creds.Server, sdk.WithHTTPClient(httpClient(env)), sdk.WithUserAgent(userAgent(env)))
	s.source = sdk.NewRefreshingTokenSource(base, creds.Tokens(), func(t sdk.Tokens) error {
		s.creds = s.creds.WithTokens(t)
		return SaveCredentials(s.path, s.creds)
	})
	s.client = sdk.New(creds.Server, sdk.WithHTTPClient(httpClient(env)), sdk.WithUserAgent(userAgent(env)),
		sdk.WithTokenSource(s.source))
	return s, nil
}
