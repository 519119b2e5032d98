package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// seeded is n bytes of a seeded PRNG stream, never held in memory.
func seeded(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return io.LimitReader(rand.NewChaCha8(s), n)
}

// memPeak samples the process's memory until stop is called and returns
// the peak growth of the heap in use and of memory obtained from the OS
// over the figures at the start.
func memPeak() (stop func() (heap, sys uint64)) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peakHeap, peakSys atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if h := m.HeapInuse + m.StackInuse; h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			if m.Sys > peakSys.Load() {
				peakSys.Store(m.Sys)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		h, s := peakHeap.Load(), peakSys.Load()
		bh := base.HeapInuse + base.StackInuse
		return sub(h, bh), sub(s, base.Sys)
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// transfer uploads n seeded bytes to p and downloads them again, comparing
// SHA-256 digests as they stream; it returns the upload and download rates.
func transfer(t *testing.T, s *storer, p string, n int64, chunked bool) (upMBs, downMBs float64) {
	t.Helper()
	h := sha256.New()
	var body io.Reader = io.TeeReader(seeded(7, n), h)
	req, err := http.NewRequest("PUT", s.url("/api/v1/storage/upload", url.Values{"path": {p}}), body)
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	} else {
		req.ContentLength = n
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	start := time.Now()
	res, err := s.plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
	upMBs = float64(n) / (1 << 20) / time.Since(start).Seconds()
	want := h.Sum(nil)

	start = time.Now()
	req, _ = http.NewRequest("GET", s.url("/api/v1/storage/download", url.Values{"path": {p}}), nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err = s.plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != n {
		t.Fatalf("download: %d, length %d", res.StatusCode, res.ContentLength)
	}
	h2 := sha256.New()
	got, err := io.CopyBuffer(h2, res.Body, make([]byte, 256<<10))
	if err != nil || got != n {
		t.Fatalf("download read %d of %d: %v", got, n, err)
	}
	downMBs = float64(n) / (1 << 20) / time.Since(start).Seconds()
	if !bytes.Equal(h2.Sum(nil), want) {
		t.Fatal("downloaded bytes differ from the uploaded ones")
	}
	return upMBs, downMBs
}

// bigSize is 2 GiB, or GPUAAS_STORAGE_BIG_MIB, or 256 MiB under -short.
func bigSize(t *testing.T) int64 {
	if v := os.Getenv("GPUAAS_STORAGE_BIG_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n << 20
	}
	if testing.Short() {
		return 256 << 20
	}
	return 2 << 30
}

// A 2 GiB file goes up and comes down byte-identical through the API
// while the process (server and client both) grows by less than 64 MiB.
func TestStorageLargeTransferFS(t *testing.T) {
	se := startStorage(t, false)
	s := se.storer(t, "user", "")
	n := bigSize(t)
	stop := memPeak()
	up, down := transfer(t, s, "big/blob.bin", n, false)
	heap, sys := stop()
	t.Logf("fs: %d MiB up %.0f MB/s, down %.0f MB/s; peak extra heap %.1f MiB, sys %.1f MiB",
		n>>20, up, down, float64(heap)/(1<<20), float64(sys)/(1<<20))
	if heap > 64<<20 || sys > 64<<20 {
		t.Fatalf("memory grew by heap %d, sys %d bytes during the transfer; want under 64 MiB", heap, sys)
	}
	if u := s.usage(); u.UsedBytes != n {
		t.Fatalf("usage %+v, want %d", u, n)
	}
	// Streamed without a length too (chunked), reserved as it arrives.
	n2 := min(n, 64<<20)
	stop = memPeak()
	transfer(t, s, "big/chunked.bin", n2, true)
	if heap, _ := stop(); heap > 64<<20 {
		t.Fatalf("chunked upload grew the heap by %d", heap)
	}
}

func TestStorageTransferS3(t *testing.T) {
	se := startStorage(t, true)
	s := se.storer(t, "user", "s3r")
	n := int64(80 << 20) // five 16 MiB parts
	stop := memPeak()
	up, down := transfer(t, s, "big/blob.bin", n, false)
	heap, sys := stop()
	t.Logf("s3: %d MiB up %.0f MB/s, down %.0f MB/s; peak extra heap %.1f MiB, sys %.1f MiB",
		n>>20, up, down, float64(heap)/(1<<20), float64(sys)/(1<<20))
	if heap > 64<<20 {
		t.Fatalf("heap grew by %d during the transfer; want under 64 MiB", heap)
	}
	transfer(t, s, "big/chunked.bin", 20<<20, true)
	if u := s.usage(); u.UsedBytes != n+20<<20 {
		t.Fatalf("usage %+v", u)
	}
}

// cutOff sends the head of an upload of declared (or chunked) length and
// hangs up half way.
func cutOff(t *testing.T, s *storer, p string, chunked bool) {
	t.Helper()
	u, _ := url.Parse(s.url("/api/v1/storage/upload", url.Values{"path": {p}}))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n", u.RequestURI(), u.Host, s.token)
	chunk := make([]byte, 1<<20)
	if chunked {
		fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n")
		for range 20 {
			fmt.Fprintf(w, "%x\r\n", len(chunk))
			w.Write(chunk)
			fmt.Fprintf(w, "\r\n")
		}
		fmt.Fprintf(w, "%x\r\n", len(chunk))
		w.Write(chunk[:1000])
	} else {
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", 64<<20)
		for range 20 {
			w.Write(chunk)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start writing
	conn.Close()
}

// waitSettled polls until the namespace has no upload in flight.
func waitSettled(t *testing.T, se *storageEnv, s *storer, region string) db.StorageNamespace {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		row, err := se.App.Store.GetStorageNamespace(context.Background(), db.GetStorageNamespaceParams{
			Namespace: storage.UserNamespace(uuidOf(t, s.userID)), Region: region})
		if err == nil && row.ReservedBytes == 0 {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservation not released: %+v %v", row, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStorageCutOffUploadFS(t *testing.T) {
	t.Parallel()
	se := startStorage(t, false)
	s := se.storer(t, "user", "")
	want(t, s.upload("keep.bin", []byte("old")), 201, "")
	for _, chunked := range []bool{false, true} {
		cutOff(t, s, "cut/new.bin", chunked)
		cutOff(t, s, "keep.bin", chunked)
		row := waitSettled(t, se, s, "r1")
		if row.UsedBytes != 3 {
			t.Fatalf("usage after cut-off uploads: %+v", row)
		}
		ns := filepath.Join(se.Root, storage.UserNamespace(uuidOf(t, s.userID)))
		if tree := fsTree(t, ns); strings.Contains(tree, "new.bin") || strings.Contains(tree, ".gpuaas-upload-") {
			t.Fatalf("a cut-off upload left something:\n%s", tree)
		}
		if r := s.download("keep.bin", nil); string(r.body) != "old" {
			t.Fatalf("a cut-off replacement changed the file: %q", r.body)
		}
	}
}

func TestStorageCutOffUploadS3(t *testing.T) {
	t.Parallel()
	se := startStorage(t, true)
	s := se.storer(t, "user", "s3r")
	want(t, s.upload("keep.bin", []byte("old")), 201, "")
	for _, chunked := range []bool{false, true} {
		cutOff(t, s, "cut/new.bin", chunked)
		cutOff(t, s, "keep.bin", chunked)
		waitSettled(t, se, s, "s3r")
		b, _ := storage.NewS3(se.S3)
		for oi := range b.Client().ListObjects(context.Background(), se.S3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if strings.Contains(oi.Key, "new.bin") {
				t.Fatalf("a cut-off upload left %s", oi.Key)
			}
		}
		for up := range b.Client().ListIncompleteUploads(context.Background(), se.S3.Bucket, "", true) {
			if up.Err == nil {
				t.Errorf("a cut-off upload left a multipart upload open: %s", up.Key)
			}
		}
		if r := s.download("keep.bin", nil); string(r.body) != "old" {
			t.Fatalf("a cut-off replacement changed the file: %q", r.body)
		}
	}
}

// Concurrent uploads, with and without a length, never take a namespace
// past its quota.
func TestStorageQuotaConcurrentUploads(t *testing.T) {
	t.Parallel()
	se := startStorage(t, false)
	s := se.storer(t, "user", "")
	admin := se.storer(t, "admin", "")
	const quota = 10 << 20
	r := admin.do(admin.hc, "PUT", se.URL+"/api/v1/admin/users/"+s.userID+"/storage-quota", strings.NewReader(`{"quota_bytes":`+strconv.Itoa(quota)+`}`), http.Header{"Content-Type": {"application/json"}})
	want(t, r, 200, "")
	const size = 3 << 20
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			var body io.Reader = seeded(uint64(i), size)
			req, _ := http.NewRequest("PUT", s.url("/api/v1/storage/upload", url.Values{"path": {fmt.Sprintf("f%02d.bin", i)}}), body)
			if i%2 == 0 {
				req.ContentLength = size
			} else {
				req.ContentLength = -1 // chunked: reserved as it arrives
			}
			req.Header.Set("Authorization", "Bearer "+s.token)
			res, err := s.plain.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch res.StatusCode {
			case 201:
				ok.Add(1)
			case 413:
				var e struct{ Code string }
				_ = json.Unmarshal(b, &e)
				if e.Code != "storage_quota_exceeded" {
					t.Errorf("413 %s", b)
				}
				over.Add(1)
			default:
				t.Errorf("upload %d: %d %s", i, res.StatusCode, b)
			}
		})
	}
	wg.Wait()
	if ok.Load() > quota/size || ok.Load() == 0 || ok.Load()+over.Load() != 12 {
		t.Fatalf("%d uploads fit a quota of %d (of %d bytes each), %d refused", ok.Load(), quota, size, over.Load())
	}
	row := waitSettled(t, se, s, "r1")
	if row.UsedBytes != ok.Load()*size {
		t.Fatalf("used %d, want %d", row.UsedBytes, ok.Load()*size)
	}
	var onDisk int64
	_ = filepath.Walk(filepath.Join(se.Root, storage.UserNamespace(uuidOf(t, s.userID))), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			onDisk += fi.Size()
		}
		return nil
	})
	if onDisk > quota {
		t.Fatalf("%d bytes on disk past a quota of %d", onDisk, quota)
	}
	t.Logf("%d of 12 uploads of %d MiB fit a %d MiB quota", ok.Load(), size>>20, quota>>20)
}

// slowReader gives n bytes over about d.
type slowReader struct {
	n, sent int
	step    time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.sent >= r.n {
		return 0, io.EOF
	}
	time.Sleep(r.step)
	k := min(len(p), 1024, r.n-r.sent)
	r.sent += k
	return k, nil
}

// An upload may take longer than the server's read timeout (30 s; 1 s
// here): the handler lifts it, as the app proxy does.
func TestStorageUploadOutlastsReadTimeout(t *testing.T) {
	t.Parallel()
	se := startStorage(t, false)
	s := se.storer(t, "user", "")
	// The same handler on a second server with a 1 s read timeout (on a
	// registry of its own: the handler registers its metrics).
	reg := se.App.Registry
	se.App.Registry = prometheus.NewRegistry()
	h := se.App.Handler()
	se.App.Registry = reg
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second, ReadTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.base = "http://" + ln.Addr().String()
	body := &slowReader{n: 10 * 1024, step: 250 * time.Millisecond} // 2.5 s
	req, _ := http.NewRequest("PUT", s.url("/api/v1/storage/upload", url.Values{"path": {"slow.bin"}}), body)
	req.ContentLength = int64(body.n)
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := s.plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("slow upload: %d %s", res.StatusCode, b)
	}
}
