package inventory

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/money"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Limits on what an admin may put in the catalogue. The bounds keep every
// figure far from overflow (a year of the top price is ~10^13 minor units)
// while leaving room for any real machine.
const (
	maxNameLen      = 64
	maxModelLen     = 128
	maxGPUCount     = 16
	maxGPUMemoryMiB = 1 << 20 // 1 TiB per GPU
	maxVCPU         = 1024
	maxMemoryMiB    = 16 << 20 // 16 TiB
	maxDiskGiB      = 1 << 20  // 1 PiB
	// MaxPriceMinor is the highest hourly price, in minor units.
	MaxPriceMinor = 1_000_000_000
	// maxPriceHistory is how many price-history entries one read returns.
	maxPriceHistory = 500
	// regionUseSample is how many nodes and SKUs a region_in_use error names.
	regionUseSample = 10
)

var (
	regionSlugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)
	skuIDRE      = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
)

// invalidField is a 400 that names the field, in the message and in
// details.field (as package launchable does), so a form can mark it.
func invalidField(field, format string, args ...any) *apperr.Error {
	e := apperr.Invalid("%s: %s", field, fmt.Sprintf(format, args...))
	e.Details = map[string]any{"field": field}
	return e
}

// checkName trims s and checks it is 1 to max printable characters.
func checkName(field string, s *string, max int) error {
	*s = strings.TrimSpace(*s)
	n := utf8.RuneCountInString(*s)
	if !utf8.ValidString(*s) || n == 0 || n > max {
		return invalidField(field, "must be 1 to %d characters", max)
	}
	for _, r := range *s {
		if !unicode.IsPrint(r) {
			return invalidField(field, "must be printable characters (no control characters or line breaks)")
		}
	}
	return nil
}

func checkRange(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return invalidField(field, "must be between %d and %d", lo, hi)
	}
	return nil
}

// ListRegions returns every region with how many nodes and SKUs use it.
func (s *Service) ListRegions(ctx context.Context) ([]api.AdminRegion, error) {
	rows, err := s.store.ListRegionsWithUse(ctx)
	if err != nil {
		return nil, fmt.Errorf("list regions: %w", err)
	}
	out := make([]api.AdminRegion, len(rows))
	for i, r := range rows {
		out[i] = api.AdminRegion{Slug: r.ID, Name: r.Name, CreatedAt: r.CreatedAt,
			NodeCount: int(r.NodeCount), SkuCount: int(r.SkuCount)}
	}
	return out, nil
}

// CreateRegion adds a region. A slug that exists is 409 conflict.
func (s *Service) CreateRegion(ctx context.Context, actor uuid.UUID, req api.CreateRegionRequest) (api.AdminRegion, error) {
	req.Slug = strings.TrimSpace(req.Slug)
	if !regionSlugRE.MatchString(req.Slug) {
		return api.AdminRegion{}, invalidField("slug", "must be 2 to 32 characters of a-z, 0-9 and '-', starting with a letter")
	}
	if err := checkName("name", &req.Name, maxNameLen); err != nil {
		return api.AdminRegion{}, err
	}
	var out api.AdminRegion
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		r, err := tx.CreateRegion(ctx, db.CreateRegionParams{ID: req.Slug, Name: req.Name})
		if err != nil {
			return err
		}
		out = api.AdminRegion{Slug: r.ID, Name: r.Name, CreatedAt: r.CreatedAt}
		return audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionRegionCreated,
			TargetType: "region", TargetID: r.ID, Metadata: map[string]any{"name": r.Name}})
	})
	if store.IsUniqueViolation(err, "") {
		return api.AdminRegion{}, apperr.Conflict("", "region %q exists", req.Slug)
	}
	if err != nil {
		return api.AdminRegion{}, fmt.Errorf("create region: %w", err)
	}
	return out, nil
}

// RenameRegion changes a region's name; its slug never changes.
func (s *Service) RenameRegion(ctx context.Context, actor uuid.UUID, slug string, req api.UpdateRegionRequest) (api.AdminRegion, error) {
	if err := checkName("name", &req.Name, maxNameLen); err != nil {
		return api.AdminRegion{}, err
	}
	var out api.AdminRegion
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		r, err := tx.GetRegionForUpdate(ctx, slug)
		if store.IsNoRows(err) {
			return apperr.NotFound("region")
		}
		if err != nil {
			return err
		}
		if r.Name != req.Name {
			from := r.Name
			if r, err = tx.RenameRegion(ctx, db.RenameRegionParams{ID: slug, Name: req.Name}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionRegionRenamed,
				TargetType: "region", TargetID: slug, Metadata: map[string]any{"from": from, "to": r.Name}}); err != nil {
				return err
			}
		}
		use, err := tx.RegionUsers(ctx, db.RegionUsersParams{ID: slug, Sample: 0})
		if err != nil {
			return err
		}
		out = api.AdminRegion{Slug: r.ID, Name: r.Name, CreatedAt: r.CreatedAt,
			NodeCount: int(use.NodeCount), SkuCount: int(use.SkuCount)}
		return nil
	})
	if err != nil {
		return api.AdminRegion{}, fmt.Errorf("rename region: %w", err)
	}
	return out, nil
}

// DeleteRegion removes a region no node or SKU uses; otherwise it is 409
// region_in_use, naming some of them. The region row is locked first, so
// a node or SKU created in it at the same time waits and then fails its
// foreign key rather than slipping in between the count and the delete.
func (s *Service) DeleteRegion(ctx context.Context, actor uuid.UUID, slug string) error {
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		r, err := tx.GetRegionForUpdate(ctx, slug)
		if store.IsNoRows(err) {
			return apperr.NotFound("region")
		}
		if err != nil {
			return err
		}
		use, err := tx.RegionUsers(ctx, db.RegionUsersParams{ID: slug, Sample: regionUseSample})
		if err != nil {
			return err
		}
		if use.NodeCount > 0 || use.SkuCount > 0 {
			return regionInUse(slug, use)
		}
		if _, err := tx.DeleteRegion(ctx, slug); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionRegionDeleted,
			TargetType: "region", TargetID: slug, Metadata: map[string]any{"name": r.Name}})
	})
	if err != nil {
		return fmt.Errorf("delete region: %w", err)
	}
	return nil
}

// regionInUse says in plain words what keeps a region, with the figures in
// details for a client.
func regionInUse(slug string, use db.RegionUsersRow) *apperr.Error {
	var parts []string
	if use.NodeCount > 0 {
		parts = append(parts, fmt.Sprintf("%d node(s): %s", use.NodeCount, sample(use.Hostnames, int(use.NodeCount))))
	}
	if use.SkuCount > 0 {
		parts = append(parts, fmt.Sprintf("%d SKU(s): %s", use.SkuCount, sample(use.SkuIds, int(use.SkuCount))))
	}
	e := apperr.Conflict("region_in_use", "region %s is used by %s; move or remove them first", slug, strings.Join(parts, " and "))
	e.Details = map[string]any{"node_count": use.NodeCount, "sku_count": use.SkuCount,
		"nodes": use.Hostnames, "skus": use.SkuIds}
	return e
}

func sample(names []string, total int) string {
	s := strings.Join(names, ", ")
	if more := total - len(names); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// ListAllSKUs is ListSKUs with inactive SKUs too, for admins.
func (s *Service) ListAllSKUs(ctx context.Context, afterID string, limit int) ([]api.SKU, string, error) {
	p := db.ListAllSKUsParams{PageLimit: int32(limit + 1), CursorID: optional(afterID)}
	rows, err := s.store.ListAllSKUs(ctx, p)
	if err != nil {
		return nil, "", fmt.Errorf("list all skus: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]api.SKU, len(rows))
	for i, r := range rows {
		out[i] = renderSKU(db.Sku{ID: r.ID, Name: r.Name, GpuModel: r.GpuModel, GpuCount: r.GpuCount,
			GpuMemoryMib: r.GpuMemoryMib, Vcpu: r.Vcpu, MemoryMib: r.MemoryMib, DiskGib: r.DiskGib,
			PricePerHourMinor: r.PricePerHourMinor, Currency: r.Currency, Region: r.Region, Active: r.Active}, r.Available)
	}
	return out, next, nil
}

func renderSKU(k db.Sku, available int32) api.SKU {
	return api.SKU{
		Id: k.ID, Name: k.Name, GpuModel: k.GpuModel, GpuCount: int(k.GpuCount),
		GpuMemoryMib: int(k.GpuMemoryMib), Vcpu: int(k.Vcpu), MemoryMib: k.MemoryMib,
		DiskGib: int(k.DiskGib), PricePerHourMinor: k.PricePerHourMinor, Currency: k.Currency,
		Region: k.Region, Active: k.Active, Available: int(available),
	}
}

func validateSKU(req *api.CreateSKURequest) error {
	req.Id = strings.TrimSpace(req.Id)
	if !skuIDRE.MatchString(req.Id) {
		return invalidField("id", "must be 2 to 63 characters of a-z, 0-9 and '-', starting with a letter")
	}
	if err := checkName("name", &req.Name, maxNameLen); err != nil {
		return err
	}
	req.Region = strings.TrimSpace(req.Region)
	if req.Region == "" {
		return invalidField("region", "is required")
	}
	if err := checkName("gpu_model", &req.GpuModel, maxModelLen); err != nil {
		return err
	}
	for _, c := range []struct {
		field   string
		v, l, h int64
	}{
		{"gpu_count", int64(req.GpuCount), 1, maxGPUCount},
		{"gpu_memory_mib", int64(req.GpuMemoryMib), 1, maxGPUMemoryMiB},
		{"vcpu", int64(req.Vcpu), 1, maxVCPU},
		{"memory_mib", req.MemoryMib, 1, maxMemoryMiB},
		{"disk_gib", int64(req.DiskGib), 1, maxDiskGiB},
		{"price_per_hour_minor", req.PricePerHourMinor, 0, MaxPriceMinor},
	} {
		if err := checkRange(c.field, c.v, c.l, c.h); err != nil {
			return err
		}
	}
	if !money.Known(req.Currency) {
		return invalidField("currency", "must be an ISO 4217 code in capitals, such as USD")
	}
	return nil
}

// CreateSKU adds an active SKU, in the marketplace at once, and the first
// entry of its price history. An unknown region is 400 (field region); an
// id that exists is 409 conflict.
func (s *Service) CreateSKU(ctx context.Context, actor uuid.UUID, req api.CreateSKURequest) (api.SKU, error) {
	if err := validateSKU(&req); err != nil {
		return api.SKU{}, err
	}
	var out api.SKU
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.GetRegion(ctx, req.Region); store.IsNoRows(err) {
			return invalidField("region", "region %q does not exist", truncate(req.Region, 70))
		} else if err != nil {
			return err
		}
		k, err := tx.CreateSKU(ctx, db.CreateSKUParams{
			ID: req.Id, Name: req.Name, GpuModel: req.GpuModel, GpuCount: int32(req.GpuCount),
			GpuMemoryMib: int32(req.GpuMemoryMib), Vcpu: int32(req.Vcpu), MemoryMib: req.MemoryMib,
			DiskGib: int32(req.DiskGib), PricePerHourMinor: req.PricePerHourMinor, Currency: req.Currency,
			Region: req.Region,
		})
		if err != nil {
			return err
		}
		if err := tx.InsertSKUPrice(ctx, db.InsertSKUPriceParams{SkuID: k.ID, PricePerHourMinor: k.PricePerHourMinor,
			ChangedBy: actorID(actor)}); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionSKUCreated,
			TargetType: "sku", TargetID: k.ID, Metadata: map[string]any{"name": k.Name, "region": k.Region,
				"gpu_model": k.GpuModel, "gpu_count": k.GpuCount, "price_per_hour_minor": k.PricePerHourMinor,
				"currency": k.Currency}}); err != nil {
			return err
		}
		out, err = s.renderOne(ctx, tx, k)
		return err
	})
	if store.IsUniqueViolation(err, "skus_pkey") {
		return api.SKU{}, apperr.Conflict("", "SKU %q exists", req.Id)
	}
	if err != nil {
		return api.SKU{}, fmt.Errorf("create sku: %w", err)
	}
	return out, nil
}

func (s *Service) renderOne(ctx context.Context, tx *store.Store, k db.Sku) (api.SKU, error) {
	n, err := tx.SKUAvailable(ctx, k.ID)
	if err != nil {
		return api.SKU{}, err
	}
	return renderSKU(k, n), nil
}

func actorID(actor uuid.UUID) uuid.NullUUID {
	return uuid.NullUUID{UUID: actor, Valid: actor != uuid.Nil}
}

// UpdateSKU changes any of a SKU's name, price and whether it is offered.
// The SKU row is locked for the transaction, so two admins changing the
// price at once are recorded one after the other, each with the price the
// other left as its previous price. A price change applies to allocations
// created after it: an allocation copies the price at create. A field set
// to what it is changes nothing and is not audited.
func (s *Service) UpdateSKU(ctx context.Context, actor uuid.UUID, id string, req api.UpdateSKURequest) (api.SKU, error) {
	if req.Name == nil && req.PricePerHourMinor == nil && req.Active == nil {
		return api.SKU{}, apperr.Invalid("give at least one of name, price_per_hour_minor and active")
	}
	if req.Name != nil {
		if err := checkName("name", req.Name, maxNameLen); err != nil {
			return api.SKU{}, err
		}
	}
	if req.PricePerHourMinor != nil {
		if err := checkRange("price_per_hour_minor", *req.PricePerHourMinor, 0, MaxPriceMinor); err != nil {
			return api.SKU{}, err
		}
	}
	var out api.SKU
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		old, err := tx.GetSKUForUpdate(ctx, id)
		if store.IsNoRows(err) {
			return apperr.NotFound("sku")
		}
		if err != nil {
			return err
		}
		next := db.UpdateSKUParams{ID: id, Name: old.Name, PricePerHourMinor: old.PricePerHourMinor, Active: old.Active}
		if req.Name != nil {
			next.Name = *req.Name
		}
		if req.PricePerHourMinor != nil {
			next.PricePerHourMinor = *req.PricePerHourMinor
		}
		if req.Active != nil {
			next.Active = *req.Active
		}
		k := old
		if next != (db.UpdateSKUParams{ID: id, Name: old.Name, PricePerHourMinor: old.PricePerHourMinor, Active: old.Active}) {
			if k, err = tx.UpdateSKU(ctx, next); err != nil {
				return err
			}
		}
		if err := s.recordSKUChanges(ctx, tx, actor, old, k); err != nil {
			return err
		}
		out, err = s.renderOne(ctx, tx, k)
		return err
	})
	if err != nil {
		return api.SKU{}, fmt.Errorf("update sku: %w", err)
	}
	return out, nil
}

// recordSKUChanges writes the price-history entry and the audit rows for
// what changed from old to k.
func (s *Service) recordSKUChanges(ctx context.Context, tx *store.Store, actor uuid.UUID, old, k db.Sku) error {
	var entries []audit.Entry
	if k.Name != old.Name {
		entries = append(entries, audit.Entry{Action: audit.ActionSKURenamed,
			Metadata: map[string]any{"from": old.Name, "to": k.Name}})
	}
	if k.PricePerHourMinor != old.PricePerHourMinor {
		prev := old.PricePerHourMinor
		if err := tx.InsertSKUPrice(ctx, db.InsertSKUPriceParams{SkuID: k.ID, PricePerHourMinor: k.PricePerHourMinor,
			PreviousPriceMinor: &prev, ChangedBy: actorID(actor)}); err != nil {
			return err
		}
		entries = append(entries, audit.Entry{Action: audit.ActionSKUPriceChanged,
			Metadata: map[string]any{"from_minor": prev, "to_minor": k.PricePerHourMinor, "currency": k.Currency}})
	}
	if k.Active != old.Active {
		a := audit.ActionSKUDeactivated
		if k.Active {
			a = audit.ActionSKUActivated
		}
		entries = append(entries, audit.Entry{Action: a})
	}
	for _, e := range entries {
		e.Actor, e.TargetType, e.TargetID = actor, "sku", k.ID
		if err := audit.Record(ctx, tx.Queries, e); err != nil {
			return err
		}
	}
	return nil
}

// SKUPrices is a SKU's price history, newest first; its creation is the
// last entry.
func (s *Service) SKUPrices(ctx context.Context, id string) ([]api.SKUPrice, error) {
	k, err := s.store.GetSKU(ctx, id)
	if store.IsNoRows(err) {
		return nil, apperr.NotFound("sku")
	}
	if err != nil {
		return nil, fmt.Errorf("get sku: %w", err)
	}
	rows, err := s.store.ListSKUPrices(ctx, db.ListSKUPricesParams{SkuID: id, PageLimit: maxPriceHistory})
	if err != nil {
		return nil, fmt.Errorf("list sku prices: %w", err)
	}
	out := make([]api.SKUPrice, len(rows))
	for i, r := range rows {
		out[i] = api.SKUPrice{PricePerHourMinor: r.PricePerHourMinor, PreviousPriceMinor: r.PreviousPriceMinor,
			Currency: k.Currency, ChangedAt: r.ChangedAt, ChangedByUsername: r.ChangedByUsername}
		if r.ChangedBy.Valid {
			out[i].ChangedBy = &r.ChangedBy.UUID
		}
	}
	return out, nil
}
