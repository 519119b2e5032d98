package gpu

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
)

// xidLine matches the driver's Xid report wherever it sits in a line, so
// dmesg's "[  12.345678] ", syslog's "Nov 27 06:12:34 host kernel: " and
// journalctl prefixes all work:
//
//	NVRM: Xid (PCI:0000:3b:00): 79, pid=..., GPU has fallen off the bus.
//
// Old drivers print the address without "PCI:".
var xidLine = regexp.MustCompile(`NVRM: Xid \((?:PCI:)?([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+)(?:\.[0-9A-Fa-f]+)?\): (\d+)`)

// ParseXids reads a kernel log and returns, per GPU PCI address in
// ShortBusID form ("0000:3b:00"), the Xid codes logged for it in order.
// Lines that are not Xid reports are skipped, and so is a line too long to
// hold one; a read error ends the scan with what was found so far, because
// a partial log still tells more than none.
func ParseXids(kernelLog io.Reader) map[string][]int {
	out := map[string][]int{}
	sc := bufio.NewScanner(kernelLog)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		m := xidLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		code, err := strconv.Atoi(string(m[2]))
		if err != nil {
			continue
		}
		bus := ShortBusID(string(m[1]))
		out[bus] = append(out[bus], code)
	}
	return out
}
