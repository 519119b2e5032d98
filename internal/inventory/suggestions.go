package inventory

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/gpuaas/gpuaas/api"
)

// SKUSuggestions proposes SKUs from the GPUs nodes reported. The rule
// (docs/catalogue.md): take every node that is not disabled, count its GPUs
// per (model, memory); each distinct (region, model, memory, count) is a
// shape, and a shape is proposed when no SKU, active or inactive, has the
// same region, gpu_model and gpu_count (an inactive SKU is a decision not
// to sell that shape, so it is not proposed again). Memory is not part of
// the match: a SKU matches GPUs by model name alone when placing.
//
// Each proposal carries a free id (the model without its vendor, "-x" and
// the count, then "-" and the region when that is taken) and a name; the
// admin supplies vCPU, memory, disk and price.
func (s *Service) SKUSuggestions(ctx context.Context) ([]api.SKUSuggestion, error) {
	shapes, err := s.store.ListNodeGPUShapes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list gpu shapes: %w", err)
	}
	skus, err := s.store.ListSKUShapes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sku shapes: %w", err)
	}
	type key struct {
		region, model string
		count         int32
	}
	covered := map[key]bool{}
	taken := map[string]bool{}
	for _, k := range skus {
		covered[key{k.Region, k.GpuModel, k.GpuCount}] = true
		taken[k.ID] = true
	}
	out := []api.SKUSuggestion{}
	for _, sh := range shapes {
		if covered[key{sh.Region, sh.Model, sh.GpuCount}] {
			continue
		}
		id := suggestID(sh.Model, sh.Region, int(sh.GpuCount), taken)
		taken[id] = true
		out = append(out, api.SKUSuggestion{
			Id: id, Name: suggestName(sh.Model, int(sh.GpuCount)), Region: sh.Region, GpuModel: sh.Model,
			GpuMemoryMib: int(sh.MemoryMib), GpuCount: int(sh.GpuCount), NodeCount: int(sh.NodeCount),
		})
	}
	return out, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// shortModel drops the vendor from a model as nvidia-smi names it.
func shortModel(model string) string {
	m := strings.TrimSpace(model)
	if len(m) > 7 && strings.EqualFold(m[:7], "nvidia ") {
		m = strings.TrimSpace(m[7:])
	}
	return m
}

// suggestID makes a SKU id for the shape that is not in taken:
// "h100-80gb-hbm3-x8", else with "-<region>", else with a number.
func suggestID(model, region string, count int, taken map[string]bool) string {
	base := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(shortModel(model)), "-"), "-")
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = strings.TrimSuffix("gpu-"+base, "-")
	}
	suffix := fmt.Sprintf("-x%d", count)
	fit := func(b, suf string) string {
		if max := 63 - len(suf); len(b) > max {
			b = strings.TrimRight(b[:max], "-")
		}
		return b + suf
	}
	for _, suf := range []string{suffix, suffix + "-" + region} {
		if id := fit(base, suf); skuIDRE.MatchString(id) && !taken[id] {
			return id
		}
	}
	for n := 2; ; n++ {
		if id := fit(base, fmt.Sprintf("%s-%d", suffix, n)); !taken[id] {
			return id
		}
	}
}

// suggestName is "H100 80GB HBM3 ×8", cut to the longest name allowed.
func suggestName(model string, count int) string {
	suffix := fmt.Sprintf(" ×%d", count)
	m := []rune(shortModel(model))
	if max := maxNameLen - len([]rune(suffix)); len(m) > max {
		m = m[:max]
	}
	return strings.TrimSpace(string(m)) + suffix
}
