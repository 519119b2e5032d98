package httpapi

import (
	"net/http"
)

// StreamWriter is what a streamed download writes to. Nothing reaches the
// client until the first Write: only then are the status and headers sent.
type StreamWriter struct {
	w           http.ResponseWriter
	contentType string
	filename    string
	started     bool
}

// Write sends the headers on first use, then p.
func (s *StreamWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		h := s.w.Header()
		h.Set("Content-Type", s.contentType)
		h.Set("Content-Disposition", `attachment; filename="`+s.filename+`"`)
		h.Set("Cache-Control", "no-store")
		s.w.WriteHeader(http.StatusOK)
	}
	return s.w.Write(p)
}

// Flush pushes what was written so far to the client; before the first
// Write it does nothing, so the response stays undecided.
func (s *StreamWriter) Flush() {
	if s.started {
		http.NewResponseController(s.w).Flush() //nolint:errcheck // the client went away
	}
}

// Stream answers with a download of contentType named filename, written by
// produce. Its headers are held back until produce writes its first byte,
// so an error before then (a filter it refuses, a database that does not
// answer for the first page) is the JSON error envelope with its real
// status. After the first byte the status is gone; the only honest thing
// left is to cut the stream short, which the client sees as a truncated
// download rather than a complete-looking one.
func Stream(w http.ResponseWriter, r *http.Request, contentType, filename string, produce func(*StreamWriter) error) {
	sw := &StreamWriter{w: w, contentType: contentType, filename: filename}
	if err := produce(sw); err != nil {
		if !sw.started {
			WriteError(w, r, err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	if !sw.started {
		sw.Write(nil) //nolint:errcheck // an empty download still gets its headers
	}
}
