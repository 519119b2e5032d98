package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes beyond the shared ones.
const (
	CodeQuotaExceeded = "storage_quota_exceeded"
	CodeDisabled      = "storage_disabled"
	CodeUnknownRegion = "unknown_region"
)

// RescanAfter is how old a namespace's usage figure may be before it is
// summed again from the backend: workloads write into the fs mount
// without the API, so the API's own accounting drifts.
const RescanAfter = time.Minute

// reserveChunk is how much an upload of unknown length reserves at a time
// (less near the quota).
const reserveChunk = 16 << 20

var namespaceRE = regexp.MustCompile(`^[ut]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func validNamespace(ns string) bool { return namespaceRE.MatchString(ns) }

// UserNamespace is the namespace of a user's own files.
func UserNamespace(userID uuid.UUID) string { return "u-" + userID.String() }

// Config is what the Service serves.
type Config struct {
	// Regions are the backends the operator named per region.
	Regions map[string]Backend
	// Default serves every region not in Regions; nil: none.
	Default Backend
	// DefaultQuota is a namespace's quota without an override, in bytes.
	DefaultQuota int64
	// Prices are the regions that charge for storage, in minor units per
	// GiB-month; Currency is theirs (default USD).
	Prices   map[string]int64
	Currency string
}

// Service is the storage use cases: files, usage and quotas.
type Service struct {
	store *store.Store
	cfg   Config
}

// New returns the service. With no backend at all every call answers
// 503 storage_disabled.
func New(st *store.Store, cfg Config) *Service {
	return &Service{store: st, cfg: cfg}
}

// Enabled reports whether any region has a backend.
func (s *Service) Enabled() bool { return s.cfg.Default != nil || len(s.cfg.Regions) > 0 }

func disabled(format string, args ...any) *apperr.Error {
	e := apperr.Unavailable(format, args...)
	e.Code = CodeDisabled
	return e
}

// target is one resolved namespace in one region.
type target struct {
	ns, region string
	owner      uuid.UUID
	b          Backend
}

// resolve picks the region (default: the only one, or the first by slug,
// of the regions in the database and in --storage-config) and its backend.
func (s *Service) resolve(ctx context.Context, owner uuid.UUID, region string) (target, error) {
	if !s.Enabled() {
		return target{}, disabled("storage is not configured on this server (--storage-fs-root or --storage-config)")
	}
	ids, err := s.store.ListRegionIDs(ctx)
	if err != nil {
		return target{}, fmt.Errorf("list regions: %w", err)
	}
	for id := range s.cfg.Regions {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if region == "" {
		if len(ids) == 0 {
			return target{}, disabled("no region exists yet")
		}
		region = ids[0]
	} else if !slices.Contains(ids, region) {
		return target{}, apperr.InvalidCode(CodeUnknownRegion, "no region %q", region)
	}
	b := s.backend(region)
	if b == nil {
		return target{}, disabled("storage is not configured in region %s", region)
	}
	return target{ns: UserNamespace(owner), region: region, owner: owner, b: b}, nil
}

// mapErr turns a backend error into the API's.
func mapErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return apperr.NotFound(what)
	case errors.Is(err, ErrEscape):
		return invalidPath("the path leads outside the namespace").Wrap(err)
	case errors.Is(err, ErrExist):
		return apperr.Conflict("", "something already exists at that path, or a file stands where a folder is needed")
	case errors.Is(err, ErrNotEmpty):
		return apperr.Conflict("", "the folder is not empty; delete with recursive=true")
	case errors.Is(err, ErrNotDir):
		return apperr.Conflict("", "a file stands where a folder is needed")
	case errors.Is(err, ErrIsDir):
		return apperr.Conflict("", "a folder is at that path")
	}
	return err
}

func (s *Service) audit(ctx context.Context, actor uuid.UUID, t target, action string, meta map[string]any) error {
	meta["region"] = t.region
	return audit.Record(ctx, s.store.Queries, audit.Entry{Actor: actor, Action: action,
		TargetType: "storage_namespace", TargetID: t.ns, Metadata: meta})
}

// Cursor is a position in a folder listing: folders first, then by name.
type Cursor struct {
	Dir  bool   `json:"d"`
	Name string `json:"n"`
}

func before(a, b Entry) bool {
	if a.IsDir != b.IsDir {
		return a.IsDir
	}
	return a.Name() < b.Name()
}

// List is one page of a folder: folders first, then files, each by name
// (bytewise). The backend reads the whole folder for each page.
func (s *Service) List(ctx context.Context, owner uuid.UUID, region, dir string, after *Cursor, limit int) ([]Entry, *Cursor, error) {
	dir, err := CleanPath(dir)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return nil, nil, err
	}
	entries, err := t.b.List(ctx, t.ns, dir)
	if errors.Is(err, ErrNotDir) {
		return nil, nil, invalidPath("%s is a file, not a folder", dir)
	}
	if errors.Is(err, ErrNotFound) && dir == "" {
		entries, err = nil, nil // a namespace nothing was written to yet
	}
	if err != nil {
		return nil, nil, mapErr(err, "folder")
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	if after != nil {
		pos := Entry{Path: after.Name, IsDir: after.Dir}
		i := sort.Search(len(entries), func(i int) bool { return before(pos, entries[i]) })
		entries = entries[i:]
	}
	var next *Cursor
	if len(entries) > limit {
		entries = entries[:limit]
		last := entries[limit-1]
		next = &Cursor{Dir: last.IsDir, Name: last.Name()}
	}
	return entries, next, nil
}

// Open opens a file for download; a folder is 400 invalid_path.
func (s *Service) Open(ctx context.Context, owner uuid.UUID, region, p string) (Object, error) {
	p, err := CleanPath(p)
	if err != nil {
		return nil, err
	}
	if p == "" {
		return nil, invalidPath("the root is a folder")
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return nil, err
	}
	o, err := t.b.Open(ctx, t.ns, p)
	if errors.Is(err, ErrIsDir) {
		return nil, invalidPath("%s is a folder", p)
	}
	if errors.Is(err, ErrNotDir) {
		return nil, apperr.NotFound("file")
	}
	return o, mapErr(err, "file")
}

// Mkdir makes a folder and its missing parents.
func (s *Service) Mkdir(ctx context.Context, actor, owner uuid.UUID, region, p string) (Entry, error) {
	p, err := CleanPath(p)
	if err != nil {
		return Entry{}, err
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return Entry{}, err
	}
	e, err := t.b.Mkdir(ctx, t.ns, p)
	if err != nil {
		return Entry{}, mapErr(err, "folder")
	}
	return e, s.audit(ctx, actor, t, audit.ActionStorageMkdir, map[string]any{"path": p})
}

// Rename moves a file or folder; to must not exist.
func (s *Service) Rename(ctx context.Context, actor, owner uuid.UUID, region, from, to string) (Entry, error) {
	from, err := CleanPath(from)
	if err != nil {
		return Entry{}, err
	}
	to, err = CleanPath(to)
	if err != nil {
		return Entry{}, err
	}
	if from == "" || to == "" {
		return Entry{}, invalidPath("the root cannot be moved, nor anything moved onto it")
	}
	if within(to, from) {
		return Entry{}, invalidPath("a folder cannot move into itself")
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return Entry{}, err
	}
	e, err := t.b.Rename(ctx, t.ns, from, to)
	if err != nil {
		return Entry{}, mapErr(err, "file or folder")
	}
	return e, s.audit(ctx, actor, t, audit.ActionStorageRename, map[string]any{"from": from, "to": to})
}

// Delete removes a file or folder (recursive for one with contents) and
// gives its bytes back to the quota.
func (s *Service) Delete(ctx context.Context, actor, owner uuid.UUID, region, p string, recursive bool) error {
	p, err := CleanPath(p)
	if err != nil {
		return err
	}
	if p == "" {
		return invalidPath("the root cannot be deleted")
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return err
	}
	// The row first: a rescan after the delete would count it twice.
	if _, err := s.ensure(ctx, t); err != nil {
		return err
	}
	freed, err := t.b.Delete(ctx, t.ns, p, recursive)
	if err != nil {
		if errors.Is(err, ErrNotDir) {
			return apperr.NotFound("file or folder")
		}
		return mapErr(err, "file or folder")
	}
	if _, err := s.store.SettleStorage(ctx, db.SettleStorageParams{Namespace: t.ns, Region: t.region, Delta: -freed}); err != nil {
		return fmt.Errorf("give back deleted bytes: %w", err)
	}
	return s.audit(ctx, actor, t, audit.ActionStorageDelete,
		map[string]any{"path": p, "recursive": recursive, "freed_bytes": freed})
}

// Usage is a namespace's figures.
type Usage struct {
	Region     string
	UsedBytes  int64
	QuotaBytes int64
}

func (s *Service) usageOf(row db.StorageNamespace) Usage {
	return Usage{Region: row.Region, UsedBytes: row.UsedBytes, QuotaBytes: s.quotaOf(row)}
}

func (s *Service) quotaOf(row db.StorageNamespace) int64 {
	if row.QuotaBytes != nil {
		return *row.QuotaBytes
	}
	return s.cfg.DefaultQuota
}

// ensure is the namespace's row, created on first use and rescanned when
// its figure is older than RescanAfter.
func (s *Service) ensure(ctx context.Context, t target) (db.StorageNamespace, error) {
	row, err := s.store.EnsureStorageNamespace(ctx, db.EnsureStorageNamespaceParams{
		Namespace: t.ns, Region: t.region, OwnerUserID: uuid.NullUUID{UUID: t.owner, Valid: true}})
	if err != nil {
		return row, fmt.Errorf("storage namespace: %w", err)
	}
	claimed, err := s.store.ClaimStorageScan(ctx, db.ClaimStorageScanParams{
		Namespace: t.ns, Region: t.region, StaleSeconds: RescanAfter.Seconds()})
	if errors.Is(err, pgx.ErrNoRows) {
		return row, nil // fresh enough, or another request is scanning
	}
	if err != nil {
		return row, fmt.Errorf("claim storage scan: %w", err)
	}
	used, err := t.b.Usage(ctx, t.ns)
	if errors.Is(err, ErrNotFound) {
		used, err = 0, nil
	}
	if err != nil {
		return claimed, fmt.Errorf("scan namespace %s: %w", t.ns, err)
	}
	return s.store.SetStorageUsed(ctx, db.SetStorageUsedParams{Namespace: t.ns, Region: t.region, UsedBytes: used})
}

// Usage is the caller's used bytes and quota in region.
func (s *Service) Usage(ctx context.Context, owner uuid.UUID, region string) (Usage, error) {
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return Usage{}, err
	}
	row, err := s.ensure(ctx, t)
	if err != nil {
		return Usage{}, err
	}
	return s.usageOf(row), nil
}

// SetQuota sets (nil: clears) the quota override of a user's namespace.
func (s *Service) SetQuota(ctx context.Context, actor, owner uuid.UUID, region string, quota *int64) (Usage, error) {
	if quota != nil && *quota < 0 {
		return Usage{}, apperr.Invalid("quota_bytes must not be negative")
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return Usage{}, err
	}
	if _, err := s.ensure(ctx, t); err != nil {
		return Usage{}, err
	}
	var u Usage
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		row, err := tx.SetStorageQuota(ctx, db.SetStorageQuotaParams{Namespace: t.ns, Region: t.region, QuotaBytes: quota})
		if err != nil {
			return err
		}
		u = s.usageOf(row)
		var q any
		if quota != nil {
			q = *quota
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionStorageQuotaSet,
			TargetType: "storage_namespace", TargetID: t.ns,
			Metadata: map[string]any{"region": t.region, "quota_bytes": q, "user_id": owner.String()}})
	})
	return u, err
}

// errQuota ends an upload's body when the quota runs out.
type errQuota struct{ used, quota int64 }

func (e *errQuota) Error() string { return "storage quota exceeded" }

func quotaExceeded(used, quota int64) *apperr.Error {
	e := &apperr.Error{Kind: apperr.KindTooLarge, Code: CodeQuotaExceeded,
		Message: fmt.Sprintf("the upload does not fit in the namespace's quota (%d of %d bytes used)", used, quota)}
	e.Details = map[string]any{"used_bytes": used, "quota_bytes": quota}
	return e
}

// reserver counts an upload's bytes against the quota as they arrive.
type reserver struct {
	ctx      context.Context
	s        *Service
	t        target
	r        io.Reader
	reserved int64 // bytes reserved so far
	read     int64
	known    bool // length given up front: reserved all of it
}

func (q *reserver) reserve(n int64) error {
	row, err := q.s.store.ReserveStorage(q.ctx, db.ReserveStorageParams{
		Namespace: q.t.ns, Region: q.t.region, N: n, DefaultQuota: q.s.cfg.DefaultQuota})
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := q.s.store.GetStorageNamespace(q.ctx, db.GetStorageNamespaceParams{Namespace: q.t.ns, Region: q.t.region})
		if gerr != nil {
			return gerr
		}
		return &errQuota{used: cur.UsedBytes + cur.ReservedBytes, quota: q.s.quotaOf(cur)}
	}
	if err != nil {
		return fmt.Errorf("reserve storage: %w", err)
	}
	q.reserved += n
	_ = row
	return nil
}

// ErrCutOff is an upload whose body ended before it should have (the
// client went away). It is not io.ErrUnexpectedEOF on purpose: S3 clients
// take that for the end of a stream of unknown length and complete the
// object.
var ErrCutOff = errors.New("storage: the upload's body was cut off")

func (q *reserver) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	q.read += int64(n)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = ErrCutOff
	case err == io.EOF && q.known && q.read < q.reserved:
		err = ErrCutOff
	case err != nil && err != io.EOF:
		err = fmt.Errorf("%w: %w", ErrCutOff, err)
	}
	if q.read > q.reserved {
		if q.known {
			return n, errors.New("body longer than its Content-Length")
		}
		need := q.read - q.reserved
		rerr := q.reserve(max(need, reserveChunk))
		var qe *errQuota
		if errors.As(rerr, &qe) && need < reserveChunk {
			// Near the quota: what this read needs may still fit.
			rerr = q.reserve(need)
		}
		if rerr != nil {
			return 0, rerr
		}
	}
	return n, err
}

// Upload writes body to p, replacing a file there atomically. length is
// the body's size when known (-1 otherwise): all of it is reserved against
// the quota before a byte is written; an unknown length is reserved 16 MiB
// at a time as it arrives. A failed or cut-off upload leaves nothing.
func (s *Service) Upload(ctx context.Context, actor, owner uuid.UUID, region, p string, body io.Reader, length int64) (Entry, error) {
	p, err := CleanPath(p)
	if err != nil {
		return Entry{}, err
	}
	if p == "" {
		return Entry{}, invalidPath("the root is a folder")
	}
	t, err := s.resolve(ctx, owner, region)
	if err != nil {
		return Entry{}, err
	}
	if _, err := s.ensure(ctx, t); err != nil {
		return Entry{}, err
	}
	q := &reserver{ctx: context.WithoutCancel(ctx), s: s, t: t, r: body}
	if length >= 0 {
		q.known = true
		if err := q.reserve(length); err != nil {
			return Entry{}, uploadErr(err)
		}
	}
	e, replaced, err := t.b.Put(ctx, t.ns, p, q)
	delta := int64(0)
	if err == nil {
		delta = e.Size - replaced
	}
	// Settle even when the request's context is gone: the reservation
	// must not outlive the upload.
	if _, serr := s.store.SettleStorage(context.WithoutCancel(ctx), db.SettleStorageParams{
		Namespace: t.ns, Region: t.region, Reserved: q.reserved, Delta: delta}); serr != nil && err == nil {
		err = fmt.Errorf("settle storage: %w", serr)
	}
	if err != nil {
		if errors.Is(err, ErrIsDir) {
			return Entry{}, apperr.Conflict("", "a folder is at %s", p)
		}
		return Entry{}, uploadErr(mapErr(err, "folder"))
	}
	// The file is in place: audit it even if the client has gone.
	return e, s.audit(context.WithoutCancel(ctx), actor, t, audit.ActionStorageUpload,
		map[string]any{"path": p, "size": e.Size, "replaced": replaced > 0})
}

func uploadErr(err error) error {
	var qe *errQuota
	if errors.As(err, &qe) {
		return quotaExceeded(qe.used, qe.quota)
	}
	if errors.Is(err, ErrCutOff) {
		return apperr.Invalid("the upload's body was cut off before its end; nothing was written").Wrap(err)
	}
	return err
}
