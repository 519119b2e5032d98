package server

import (
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/storage"
)

func storageEntry(e storage.Entry) api.StorageEntry {
	return api.StorageEntry{Name: e.Name(), Path: e.Path, Size: e.Size, IsDir: e.IsDir, ModifiedAt: e.ModTime}
}

func (a *App) storageList(w http.ResponseWriter, r *http.Request) error {
	page, after, err := httpapi.ParsePageFrom[storage.Cursor](r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	items, next, err := a.Storage.List(r.Context(), acct, q.Get("region"), q.Get("path"), after, page.Size)
	if err != nil {
		return err
	}
	out := api.StorageList{Items: make([]api.StorageEntry, 0, len(items))}
	for _, e := range items {
		out.Items = append(out.Items, storageEntry(e))
	}
	if next != nil {
		out.NextCursor = httpapi.EncodeCursor(next)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// storageDownload streams a file. http.ServeContent answers Range (206),
// conditional requests and the content type (by extension, else sniffed);
// an unsatisfiable range gets the JSON envelope like every other error.
func (a *App) storageDownload(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	obj, err := a.Storage.Open(r.Context(), acct, q.Get("region"), q.Get("path"))
	if err != nil {
		return err
	}
	defer obj.Close()
	// Downloads last as long as they last; the read deadline is for API
	// requests.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	e := obj.Entry()
	h := w.Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name()}))
	h.Set("ETag", obj.ETag())
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(&rangeErrorWriter{ResponseWriter: w, r: r}, r, e.Name(), e.ModTime, obj)
	return nil
}

// rangeErrorWriter turns ServeContent's plain-text 416 into the envelope.
type rangeErrorWriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (rw *rangeErrorWriter) WriteHeader(code int) {
	if code != http.StatusRequestedRangeNotSatisfiable {
		rw.ResponseWriter.WriteHeader(code)
		return
	}
	rw.swallow = true
	h := rw.Header()
	h.Del("Content-Disposition")
	h.Del("X-Content-Type-Options")
	body := `{"code":"range_not_satisfiable","message":"the requested range is outside the file","correlation_id":` +
		strconv.Quote(reqctx.RequestID(rw.r.Context())) + "}\n"
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rw.ResponseWriter.WriteHeader(code)
	_, _ = rw.ResponseWriter.Write([]byte(body))
}

func (rw *rangeErrorWriter) Write(b []byte) (int, error) {
	if rw.swallow {
		return len(b), nil
	}
	return rw.ResponseWriter.Write(b)
}

// storageUpload takes the raw body as the file. Its route is exempt from
// --max-body-bytes (see Handler) and from the server's read timeout.
func (a *App) storageUpload(w http.ResponseWriter, r *http.Request) error {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	q := r.URL.Query()
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	e, err := a.Storage.Upload(r.Context(), principal(r).UserID, acct, q.Get("region"), q.Get("path"), r.Body, r.ContentLength)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, storageEntry(e))
	return nil
}

func (a *App) storageMkdir(w http.ResponseWriter, r *http.Request) error {
	var req api.StorageMkdirRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	e, err := a.Storage.Mkdir(r.Context(), principal(r).UserID, acct, r.URL.Query().Get("region"), req.Path)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, storageEntry(e))
	return nil
}

func (a *App) storageRename(w http.ResponseWriter, r *http.Request) error {
	var req api.StorageRenameRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	e, err := a.Storage.Rename(r.Context(), principal(r).UserID, acct, r.URL.Query().Get("region"), req.From, req.To)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, storageEntry(e))
	return nil
}

func (a *App) storageDelete(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	recursive := false
	if v := q.Get("recursive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apperr.Invalid("recursive must be true or false")
		}
		recursive = b
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	if err := a.Storage.Delete(r.Context(), principal(r).UserID, acct, q.Get("region"), q.Get("path"), recursive); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) storageUsage(w http.ResponseWriter, r *http.Request) error {
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	u, err := a.Storage.Usage(r.Context(), acct, r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.StorageUsage{Region: u.Region, UsedBytes: u.UsedBytes, QuotaBytes: u.QuotaBytes})
	return nil
}

func (a *App) adminGetStorageQuota(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	if _, err := a.Users.Get(r.Context(), id); err != nil {
		return err
	}
	u, err := a.Storage.Usage(r.Context(), id, r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.StorageUsage{Region: u.Region, UsedBytes: u.UsedBytes, QuotaBytes: u.QuotaBytes})
	return nil
}

func (a *App) adminSetStorageQuota(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	var req api.StorageQuotaRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if _, err := a.Users.Get(r.Context(), id); err != nil {
		return err
	}
	u, err := a.Storage.SetQuota(r.Context(), principal(r).UserID, id, r.URL.Query().Get("region"), req.QuotaBytes)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.StorageUsage{Region: u.Region, UsedBytes: u.UsedBytes, QuotaBytes: u.QuotaBytes})
	return nil
}
