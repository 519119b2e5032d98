package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gpuaas/gpuaas/api"
)

// InTeam is a copy of c whose storage calls act on the namespace of the
// team with slug (one the caller is in) instead of the caller's own.
func (c *Client) InTeam(slug string) *Client {
	cp := *c
	cp.storageTeam = slug
	return &cp
}

// storageQuery is the query of a storage call: the path (when not empty),
// the region (empty: the server's default) and the team (InTeam).
func (c *Client) storageQuery(region, path string) url.Values {
	q := url.Values{}
	if c.storageTeam != "" {
		q.Set("team", c.storageTeam)
	}
	if path != "" {
		q.Set("path", path)
	}
	if region != "" {
		q.Set("region", region)
	}
	return q
}

// StorageList returns a page of the folder at path in the caller's
// namespace of region ("" the default), folders first then by name.
func (c *Client) StorageList(ctx context.Context, region, path string, pageSize int, cursor string) (api.StorageList, error) {
	var l api.StorageList
	q := c.storageQuery(region, path)
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/storage/list", query: q, out: &l, auth: true})
	return l, err
}

// StoragePages pages through StorageList.
func (c *Client) StoragePages(region, path string) PageFunc[api.StorageEntry] {
	return func(ctx context.Context, cursor string) ([]api.StorageEntry, string, error) {
		l, err := c.StorageList(ctx, region, path, 0, cursor)
		return l.Items, l.NextCursor, err
	}
}

// Download is an open download of a stored file: Body holds its bytes
// from Offset on, of Size bytes in all (-1: not said). The caller closes
// Body.
type Download struct {
	Body   io.ReadCloser
	Offset int64
	Size   int64
	ETag   string
}

// StorageDownload opens the file at path for reading from offset on (a
// Range request when offset > 0). With ifRange (the ETag of the bytes the
// caller already has) the range is served only if the file is still that
// one; otherwise, or from a server that ignores Range, the answer is the
// whole file, which Offset 0 then says. The transfer is bound by ctx, not
// the client's timeout.
func (c *Client) StorageDownload(ctx context.Context, region, path string, offset int64, ifRange string) (*Download, error) {
	h := http.Header{}
	if offset > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		if ifRange != "" {
			h.Set("If-Range", ifRange)
		}
	}
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/api/v1/storage/download", query: c.storageQuery(region, path),
		auth: true, header: h, stream: true})
	if err != nil {
		return nil, err
	}
	d := &Download{Body: resp.Body, Size: resp.ContentLength, ETag: resp.Header.Get("ETag")}
	if resp.StatusCode == http.StatusPartialContent {
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok {
			resp.Body.Close()
			return nil, fmt.Errorf("download %s: unreadable Content-Range %q", path, resp.Header.Get("Content-Range"))
		}
		d.Offset, d.Size = start, total
	}
	return d, nil
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	s, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(s, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if tot == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}

// StorageUpload writes body, of size bytes (-1: unknown), as the file at
// path, replacing one that is there; missing folders are made. The
// transfer is bound by ctx, not the client's timeout.
func (c *Client) StorageUpload(ctx context.Context, region, path string, body io.Reader, size int64) (api.StorageEntry, error) {
	var e api.StorageEntry
	resp, err := c.send(ctx, call{method: http.MethodPut, path: "/api/v1/storage/upload", query: c.storageQuery(region, path),
		body: body, length: size, contentType: "application/octet-stream", auth: true, stream: true})
	if err != nil {
		return e, err
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &e); err != nil {
		return e, fmt.Errorf("PUT /api/v1/storage/upload: %w", err)
	}
	return e, nil
}

// StorageMkdir makes the folder at path and its missing parents.
func (c *Client) StorageMkdir(ctx context.Context, region, path string) (api.StorageEntry, error) {
	var e api.StorageEntry
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/storage/mkdir", query: c.storageQuery(region, ""),
		in: api.StorageMkdirRequest{Path: path}, out: &e, auth: true})
	return e, err
}

// StorageRename moves the file or folder at from to to.
func (c *Client) StorageRename(ctx context.Context, region, from, to string) (api.StorageEntry, error) {
	var e api.StorageEntry
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/storage/rename", query: c.storageQuery(region, ""),
		in: api.StorageRenameRequest{From: from, To: to}, out: &e, auth: true})
	return e, err
}

// StorageDelete deletes the file or folder at path; a folder that is not
// empty needs recursive.
func (c *Client) StorageDelete(ctx context.Context, region, path string, recursive bool) error {
	q := c.storageQuery(region, path)
	if recursive {
		q.Set("recursive", "true")
	}
	return c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/storage/delete", query: q, auth: true})
}

// StorageUsage is how much of the caller's quota in region is used.
func (c *Client) StorageUsage(ctx context.Context, region string) (api.StorageUsage, error) {
	var u api.StorageUsage
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/storage/usage", query: c.storageQuery(region, ""), out: &u, auth: true})
	return u, err
}

// decodeJSON decodes resp's JSON body into out.
func decodeJSON(resp *http.Response, out any) error {
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
