package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// ListSSHKeys returns a page of the caller's SSH public keys, newest first.
func (c *Client) ListSSHKeys(ctx context.Context, p api.ListSSHKeysParams) (api.SSHKeyList, error) {
	var l api.SSHKeyList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/ssh-keys", query: q.values(), out: &l, auth: true})
	return l, err
}

// SSHKeyPages pages through ListSSHKeys.
func (c *Client) SSHKeyPages(p api.ListSSHKeysParams) PageFunc[api.SSHKey] {
	return func(ctx context.Context, cursor string) ([]api.SSHKey, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.ListSSHKeys(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// AddSSHKey adds an OpenSSH public key (one line of a .pub file) under name.
func (c *Client) AddSSHKey(ctx context.Context, name, publicKey string) (api.SSHKey, error) {
	var k api.SSHKey
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/ssh-keys",
		in: api.AddSSHKeyRequest{Name: name, PublicKey: publicKey}, out: &k, auth: true, want: http.StatusCreated})
	return k, err
}

// DeleteSSHKey deletes one of the caller's keys.
func (c *Client) DeleteSSHKey(ctx context.Context, id uuid.UUID) error {
	return c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/ssh-keys/" + url.PathEscape(id.String()),
		auth: true, want: http.StatusNoContent})
}
