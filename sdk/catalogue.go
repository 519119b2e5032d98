package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gpuaas/gpuaas/api"
)

// AdminListRegions returns every region with how many nodes and SKUs use it.
func (c *Client) AdminListRegions(ctx context.Context) (api.RegionList, error) {
	var l api.RegionList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/regions", out: &l, auth: true})
	return l, err
}

// AdminCreateRegion adds a region.
func (c *Client) AdminCreateRegion(ctx context.Context, req api.CreateRegionRequest) (api.AdminRegion, error) {
	var r api.AdminRegion
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/regions", in: req, out: &r,
		auth: true, want: http.StatusCreated})
	return r, err
}

// AdminRenameRegion changes a region's name.
func (c *Client) AdminRenameRegion(ctx context.Context, slug, name string) (api.AdminRegion, error) {
	var r api.AdminRegion
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: "/api/v1/admin/regions/" + url.PathEscape(slug),
		in: api.UpdateRegionRequest{Name: name}, out: &r, auth: true})
	return r, err
}

// AdminDeleteRegion removes a region no node or SKU uses (else 409
// region_in_use).
func (c *Client) AdminDeleteRegion(ctx context.Context, slug string) error {
	return c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/admin/regions/" + url.PathEscape(slug),
		auth: true, want: http.StatusNoContent})
}

// AdminListSKUs returns a page of every SKU, active or not.
func (c *Client) AdminListSKUs(ctx context.Context, p api.AdminListSkusParams) (api.SKUList, error) {
	var l api.SKUList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/skus", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminCreateSKU adds an active SKU.
func (c *Client) AdminCreateSKU(ctx context.Context, req api.CreateSKURequest) (api.SKU, error) {
	var k api.SKU
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/skus", in: req, out: &k,
		auth: true, want: http.StatusCreated})
	return k, err
}

// AdminUpdateSKU changes a SKU's name, price or whether it is offered.
func (c *Client) AdminUpdateSKU(ctx context.Context, id string, req api.UpdateSKURequest) (api.SKU, error) {
	var k api.SKU
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: "/api/v1/admin/skus/" + url.PathEscape(id),
		in: req, out: &k, auth: true})
	return k, err
}

// AdminListSKUPrices returns a SKU's price history, newest first.
func (c *Client) AdminListSKUPrices(ctx context.Context, id string) (api.SKUPriceList, error) {
	var l api.SKUPriceList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/skus/" + url.PathEscape(id) + "/prices",
		out: &l, auth: true})
	return l, err
}

// AdminSKUSuggestions proposes SKUs for the GPU shapes nodes reported that
// no SKU covers.
func (c *Client) AdminSKUSuggestions(ctx context.Context) (api.SKUSuggestionList, error) {
	var l api.SKUSuggestionList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/skus/suggestions", out: &l, auth: true})
	return l, err
}
