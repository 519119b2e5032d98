package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

// maxKeyFile bounds what `keys add` reads; the server takes at most 16 KiB.
const maxKeyFile = 64 << 10

// runKeys dispatches `gpuaas keys add|ls|rm`.
func runKeys(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errUsage{fmt.Errorf("usage: gpuaas keys add|ls|rm ...")}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add":
		return runKeysAdd(ctx, env, rest)
	case "ls", "list":
		return runKeysList(ctx, env, rest)
	case "rm", "delete":
		return runKeysRemove(ctx, env, rest)
	}
	return errUsage{fmt.Errorf("unknown keys command %q: want add, ls or rm", sub)}
}

// positional parses flags wherever they stand and returns the one
// positional argument, named what in errors.
func positional(fs *flag.FlagSet, args []string, what string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", errUsage{err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return "", errUsage{fmt.Errorf("want exactly one %s", what)}
	}
	return pos[0], nil
}

func runKeysAdd(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "keys", "add [--name NAME] [-o table|json] PATH|-")
	name := fs.String("name", "", "a name for the key (default: the key's comment, else the file name)")
	out := outputFlag(fs)
	path, err := positional(fs, args, "PATH of a .pub file, or - for standard input")
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	text, err := readKeyFile(env, path)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = defaultKeyName(text, path)
	}
	if *name == "" {
		return errUsage{fmt.Errorf("the key has no comment to name it by; pass --name")}
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	k, err := s.client.AddSSHKey(ctx, *name, text)
	if err != nil {
		return err
	}
	return writeKeys(env.Stdout, *out, true, k)
}

// readKeyFile reads a public key from path ("-" is standard input). A
// private key is refused here, so it never leaves the machine.
func readKeyFile(env Env, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = env.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("read key: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("read key: %w", err)
	}
	if len(b) > maxKeyFile {
		return "", errUsage{fmt.Errorf("%s is larger than %d bytes; is it a public key?", path, maxKeyFile)}
	}
	text := string(b)
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "PuTTY-User-Key-File") {
		hint := "pass the .pub file"
		if path != "-" && !strings.HasSuffix(path, ".pub") {
			hint = "pass " + path + ".pub"
		}
		return "", errUsage{fmt.Errorf("%s is a private key, which must never be uploaded; %s", path, hint)}
	}
	if strings.TrimSpace(text) == "" {
		return "", errUsage{fmt.Errorf("%s is empty", path)}
	}
	return text, nil
}

// defaultKeyName is the key's comment or, failing that, the file's name.
func defaultKeyName(text, path string) string {
	name := ""
	if _, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(text)); err == nil {
		name = strings.TrimSpace(clean(comment))
	}
	if name == "" && path != "-" {
		name = filepath.Base(path)
	}
	// The server takes at most 64 characters.
	for utf8.RuneCountInString(name) > 64 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

func runKeysList(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "keys", "ls [-o table|json]")
	out := outputFlag(fs)
	s, err := parseAndOpen(env, fs, args, out)
	if err != nil {
		return err
	}
	keys, err := sdk.Collect(ctx, s.client.SSHKeyPages(api.ListSSHKeysParams{PageSize: sdk.Ptr(200)}))
	if err != nil {
		return err
	}
	return writeKeys(env.Stdout, *out, false, keys...)
}

func runKeysRemove(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "keys", "rm KEY_ID")
	arg, err := positional(fs, args, "key id (see `gpuaas keys ls`)")
	if err != nil {
		return err
	}
	id, err := uuid.Parse(arg)
	if err != nil {
		return errUsage{fmt.Errorf("%q is not a key id (see `gpuaas keys ls`)", arg)}
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	if err := s.client.DeleteSSHKey(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Deleted key %s\n", id)
	return nil
}

// writeKeys writes keys as a table or JSON; one, when single, as an object.
func writeKeys(w io.Writer, format string, single bool, keys ...api.SSHKey) error {
	if format == "json" {
		if single && len(keys) == 1 {
			return WriteJSON(w, keys[0])
		}
		if keys == nil {
			keys = []api.SSHKey{}
		}
		return WriteJSON(w, keys)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tFINGERPRINT\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Id, clean(k.Name), clean(fmt.Sprintf("%s %d", k.KeyType, k.Bits)),
			clean(k.Fingerprint), k.CreatedAt.Local().Format(time.DateTime))
	}
	return tw.Flush()
}
