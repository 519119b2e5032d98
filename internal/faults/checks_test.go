//go:build linux

package faults_test

import (
	"strings"
	"testing"
	"time"
)

// The offline-time arithmetic the usage invariant rests on: gaps clipped
// to the window, overlapping gaps counted once, an open gap (node never
// back) running to the window's end.
func TestOverlap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	for _, tc := range []struct {
		name     string
		gaps     []gap
		from, to float64
		want     float64
	}{
		{"none", nil, 0, 10, 0},
		{"inside", []gap{{at(2), at(4)}}, 0, 10, 2},
		{"clipped both ends", []gap{{at(-5), at(3)}, {at(8), at(20)}}, 0, 10, 5},
		{"overlapping counted once", []gap{{at(1), at(5)}, {at(3), at(6)}, {at(4), at(4.5)}}, 0, 10, 5},
		{"never back", []gap{{at(7), time.Time{}}}, 0, 10, 3},
		{"outside", []gap{{at(11), at(12)}, {at(-3), at(-1)}}, 0, 10, 0},
	} {
		if got := overlap(tc.gaps, at(tc.from), at(tc.to)).Seconds(); got != tc.want {
			t.Errorf("%s: overlap = %v s, want %v s", tc.name, got, tc.want)
		}
	}
}

// The derived multi-GPU capture keeps the real document and gives each
// copy of the GPU its own UUID.
func TestNodeXML(t *testing.T) {
	capture := []byte("<nvidia_smi_log>\n\t<attached_gpus>1</attached_gpus>\n\t<gpu id=\"00000000:00:06.0\">\n\t\t<uuid>GPU-x</uuid>\n\t</gpu>\n</nvidia_smi_log>\n")
	out := string(nodeXML(t, capture, 7, 4))
	for _, want := range []string{"<attached_gpus>4</attached_gpus>", "<uuid>GPU-faults-07-00</uuid>", "<uuid>GPU-faults-07-03</uuid>", `<gpu id="00000000:09:00.0">`} {
		if !strings.Contains(out, want) {
			t.Errorf("derived capture lacks %s:\n%s", want, out)
		}
	}
}
