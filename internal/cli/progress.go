package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress draws one transfer's bar on a terminal: bytes done of total,
// percent, rate and ETA, redrawn at most every redrawEvery. On anything
// but a terminal it draws nothing.
type progress struct {
	w     io.Writer // nil: draw nothing
	name  string
	total int64 // -1: not known
	done  int64
	start time.Time
	base  int64 // bytes already there when it started (a resume)
	last  time.Time
	now   func() time.Time
}

const redrawEvery = 200 * time.Millisecond

// isTerminal says whether w is a terminal, where a progress bar belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts a bar for name on env's stderr when it is a
// terminal; done is what a resume already has.
func newProgress(env Env, name string, done, total int64) *progress {
	p := &progress{name: name, total: total, done: done, base: done, now: time.Now}
	if isTerminal(env.Stderr) {
		p.w = env.Stderr
	}
	p.start = p.now()
	return p
}

// add counts n more bytes and redraws when it is time.
func (p *progress) add(n int) {
	p.done += int64(n)
	if p.w == nil {
		return
	}
	if t := p.now(); t.Sub(p.last) >= redrawEvery {
		p.last = t
		fmt.Fprintf(p.w, "\r\x1b[K%s", p.line())
	}
}

// finish draws the last state and ends the line.
func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", p.line())
	}
}

// line is the bar's text: "NAME  12.3 MB / 45.6 MB  27%  3.4 MB/s  ETA 10s".
func (p *progress) line() string {
	elapsed := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done-p.base) / elapsed
	}
	s := clean(p.name) + "  " + formatBytes(p.done)
	if p.total >= 0 {
		s += " / " + formatBytes(p.total)
		if p.total > 0 {
			s += fmt.Sprintf("  %3.0f%%", 100*float64(p.done)/float64(p.total))
		}
	}
	s += "  " + formatBytes(int64(rate)) + "/s"
	if p.total >= 0 && rate > 0 && p.done < p.total {
		eta := time.Duration(float64(p.total-p.done)/rate) * time.Second
		s += "  ETA " + eta.Round(time.Second).String()
	}
	return s
}

// reader counts what passes through r.
func (p *progress) reader(r io.Reader) io.Reader { return progressReader{r, p} }

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(n)
	return n, err
}

// formatBytes is n in decimal units: 999 B, 12.3 kB, 4.5 GB.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
