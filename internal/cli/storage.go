package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/gpuaas/gpuaas/sdk"
)

// RemotePrefix marks a path in your storage on `storage cp`'s command
// line: ":models/a.pt" is models/a.pt in your namespace, "models/a.pt" a
// local file (write "./:x" for a local file whose name starts with ':').
// The other storage commands take only remote paths, with or without it.
const RemotePrefix = ":"

// partialSuffix is what a download is called until it is complete; its
// ETag is kept beside it, so a resume only continues the same file.
const (
	partialSuffix = ".partial"
	etagSuffix    = ".partial.etag"
)

// runStorage dispatches `gpuaas storage ls|cp|mv|rm|mkdir|du`.
func runStorage(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return errUsage{fmt.Errorf("usage: gpuaas storage ls|cp|mv|rm|mkdir|du ...")}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "ls", "list":
		return runStorageLs(ctx, env, rest)
	case "cp":
		return runStorageCp(ctx, env, rest)
	case "mv":
		return runStorageMv(ctx, env, rest)
	case "rm":
		return runStorageRm(ctx, env, rest)
	case "mkdir":
		return runStorageMkdir(ctx, env, rest)
	case "du":
		return runStorageDu(ctx, env, rest)
	}
	return errUsage{fmt.Errorf("unknown storage command %q: want ls, cp, mv, rm, mkdir or du", sub)}
}

// positionals parses flags wherever they stand and returns the
// positional arguments, of which there must be between min and max.
func positionals(fs *flag.FlagSet, args []string, min, max int, what string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage{err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min || len(pos) > max {
		return nil, errUsage{fmt.Errorf("want %s", what)}
	}
	return pos, nil
}

// remote is a remote path without its prefix.
func remote(arg string) string { return strings.TrimPrefix(arg, RemotePrefix) }

// scope is where a storage command works: a region, and the caller's own
// namespace or, with --team, a team's they are in.
type scope struct{ region, team *string }

func scopeFlags(fs *flag.FlagSet) scope {
	return scope{
		region: fs.String("region", "", "the region whose storage to use (default: the server's default region)"),
		team:   fs.String("team", "", "a team's slug: use the team's storage instead of your own"),
	}
}

// client is c acting on the scope's namespace.
func (sc scope) client(c *sdk.Client) *sdk.Client {
	if *sc.team != "" {
		return c.InTeam(*sc.team)
	}
	return c
}

func runStorageLs(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "ls [--region R] [--team SLUG] [-o table|json] [PATH]")
	where, out := scopeFlags(fs), outputFlag(fs)
	pos, err := positionals(fs, args, 0, 1, "at most one PATH")
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	dir := ""
	if len(pos) == 1 {
		dir = remote(pos[0])
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	items, err := sdk.Collect(ctx, where.client(s.client).StoragePages(*where.region, dir))
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, items)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SIZE\tMODIFIED\tNAME")
	for _, e := range items {
		size, name := formatBytes(e.Size), clean(e.Name)
		if e.IsDir {
			size, name = "-", name+"/"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", size, e.ModifiedAt.Local().Format("2006-01-02 15:04"), name)
	}
	return tw.Flush()
}

func runStorageMkdir(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "mkdir [--region R] [--team SLUG] PATH")
	where := scopeFlags(fs)
	pos, err := positionals(fs, args, 1, 1, "exactly one PATH")
	if err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	_, err = where.client(s.client).StorageMkdir(ctx, *where.region, remote(pos[0]))
	return err
}

func runStorageMv(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "mv [--region R] [--team SLUG] FROM TO")
	where := scopeFlags(fs)
	pos, err := positionals(fs, args, 2, 2, "FROM and TO")
	if err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	_, err = where.client(s.client).StorageRename(ctx, *where.region, remote(pos[0]), remote(pos[1]))
	return err
}

func runStorageRm(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "rm [-r] [--region R] [--team SLUG] PATH")
	where := scopeFlags(fs)
	recursive := fs.Bool("r", false, "delete a folder and everything in it")
	pos, err := positionals(fs, args, 1, 1, "exactly one PATH")
	if err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	return where.client(s.client).StorageDelete(ctx, *where.region, remote(pos[0]), *recursive)
}

func runStorageDu(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "du [--region R] [--team SLUG] [-o table|json]")
	where, out := scopeFlags(fs), outputFlag(fs)
	if _, err := positionals(fs, args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	u, err := where.client(s.client).StorageUsage(ctx, *where.region)
	if err != nil {
		return err
	}
	if *out == "json" {
		return WriteJSON(env.Stdout, u)
	}
	pct := 0.0
	if u.QuotaBytes > 0 {
		pct = 100 * float64(u.UsedBytes) / float64(u.QuotaBytes)
	}
	fmt.Fprintf(env.Stdout, "%s of %s used (%.1f%%) in region %s\n", formatBytes(u.UsedBytes), formatBytes(u.QuotaBytes), pct, clean(u.Region))
	return nil
}

func runStorageCp(ctx context.Context, env Env, args []string) error {
	fs := flagSet(env, "storage", "cp [-r] [--region R] [--team SLUG] SRC DST   (one of them remote, written :PATH)")
	where := scopeFlags(fs)
	recursive := fs.Bool("r", false, "copy a folder and everything in it")
	pos, err := positionals(fs, args, 2, 2, "SRC and DST, one of them remote (:PATH)")
	if err != nil {
		return err
	}
	srcRemote, dstRemote := strings.HasPrefix(pos[0], RemotePrefix), strings.HasPrefix(pos[1], RemotePrefix)
	if srcRemote == dstRemote {
		return errUsage{fmt.Errorf("one of SRC and DST must be in your storage, written :PATH, and the other local")}
	}
	s, err := openSession(env)
	if err != nil {
		return err
	}
	t := transfer{ctx: ctx, env: env, client: where.client(s.client), region: *where.region}
	if dstRemote {
		return t.upload(pos[0], remote(pos[1]), *recursive)
	}
	return t.download(remote(pos[0]), pos[1], *recursive)
}

// transfer is one `storage cp`.
type transfer struct {
	ctx    context.Context
	env    Env
	client *sdk.Client
	region string
}

// into is where a copy of something named base lands at dst: inside dst
// when dst names a folder (ends with '/', is the root, or isDir says so).
func into(dst, base string, isDir bool, join func(...string) string) string {
	if dst == "" || strings.HasSuffix(dst, "/") || isDir {
		return join(dst, base)
	}
	return dst
}

func (t transfer) upload(src, dst string, recursive bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	target := into(dst, filepath.Base(src), false, path.Join)
	if !fi.IsDir() {
		return t.uploadFile(src, target, fi.Size())
	}
	if !recursive {
		return errUsage{fmt.Errorf("%s is a folder: copy it with -r", src)}
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := path.Join(target, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			_, err := t.client.StorageMkdir(t.ctx, t.region, to)
			return err
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return t.uploadFile(p, to, info.Size())
		}
		fmt.Fprintf(t.env.Stderr, "gpuaas storage cp: skipping %s: not a regular file\n", p)
		return nil
	})
}

func (t transfer) uploadFile(src, to string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	p := newProgress(t.env, to, 0, size)
	_, err = t.client.StorageUpload(t.ctx, t.region, to, p.reader(f), size)
	p.finish()
	if err != nil {
		return fmt.Errorf("upload %s: %w", src, err)
	}
	return nil
}

func (t transfer) download(src, dst string, recursive bool) error {
	localDir := false
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		localDir = true
	}
	name := path.Base("/" + src)
	if src == "" || src == "/" {
		name = "storage"
	}
	target := into(dst, name, localDir, filepath.Join)
	if !recursive {
		return t.downloadFile(src, target)
	}
	return t.downloadTree(src, target)
}

func (t transfer) downloadTree(src, target string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	items, err := sdk.Collect(t.ctx, t.client.StoragePages(t.region, src))
	if err != nil {
		return err
	}
	for _, e := range items {
		if strings.ContainsAny(e.Name, `/\`) || e.Name == "." || e.Name == ".." || e.Name == "" {
			return fmt.Errorf("refusing the entry %q of %s: not a plain name", e.Name, src)
		}
		to := filepath.Join(target, e.Name)
		if e.IsDir {
			err = t.downloadTree(e.Path, to)
		} else {
			err = t.downloadFile(e.Path, to)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// downloadFile fetches src into to by way of to.partial: a run cut short
// leaves the part, and the next run asks only for the rest (if the file is
// still the one whose ETag was kept), then renames it into place.
func (t transfer) downloadFile(src, to string) error {
	part, etagFile := to+partialSuffix, to+etagSuffix
	var off int64
	etag := ""
	if fi, err := os.Stat(part); err == nil {
		if b, err := os.ReadFile(etagFile); err == nil {
			off, etag = fi.Size(), strings.TrimSpace(string(b))
		}
	}
	d, err := t.client.StorageDownload(t.ctx, t.region, src, off, etag)
	if off > 0 && sdk.StatusOf(err) == http.StatusRequestedRangeNotSatisfiable {
		off = 0 // the part is not a prefix of the file any more
		d, err = t.client.StorageDownload(t.ctx, t.region, src, 0, "")
	}
	if err != nil {
		if e, ok := sdk.AsError(err); ok && e.Status == http.StatusBadRequest && !strings.HasSuffix(src, "/") {
			return fmt.Errorf("download %s: %w\nhint: a folder is copied with -r", src, err)
		}
		return fmt.Errorf("download %s: %w", src, err)
	}
	defer d.Body.Close()
	if d.Offset != off {
		off = 0 // the server sent the whole file: the file changed, or no Range
	}
	if err := os.WriteFile(etagFile, []byte(d.ETag+"\n"), 0o600); err != nil {
		return err
	}
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(off); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	p := newProgress(t.env, src, off, d.Size)
	n, err := io.Copy(f, p.reader(d.Body))
	p.finish()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && d.Size >= 0 && off+n != d.Size {
		err = fmt.Errorf("got %d of %d bytes", off+n, d.Size)
	}
	if err != nil {
		return fmt.Errorf("download %s: %w (%s keeps what arrived: run the same command again to resume)", src, err, part)
	}
	if err := os.Rename(part, to); err != nil {
		return err
	}
	_ = os.Remove(etagFile)
	fmt.Fprintf(t.env.Stderr, "%s -> %s (%s)\n", clean(src), to, formatBytes(off+n))
	return nil
}
