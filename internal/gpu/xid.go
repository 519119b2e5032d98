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

// bootBanner is the first line the kernel logs at boot, as dmesg
// ("[    0.000000] Linux version 6.8.0-...") and syslog ("... kernel: Linux
// version ...") write it.
var bootBanner = regexp.MustCompile(`(\]|kernel:) Linux version \d`)

// ParseXids reads a kernel log and returns, per GPU PCI address in
// ShortBusID form ("0000:3b:00"), the Xid codes logged for it in order.
// Lines that are not Xid reports are skipped. A read error, or a line over
// 1 MiB, ends the scan with what was found so far: a partial log still tells
// more than none.
//
// The kernel's boot banner ("Linux version ...") starts the map afresh, so a
// file such as /var/log/kern.log that spans reboots reports only the current
// boot's Xids: a reboot resets the GPU, and an Xid from before it says
// nothing about the GPU now.
func ParseXids(kernelLog io.Reader) map[string][]int {
	out := map[string][]int{}
	sc := bufio.NewScanner(kernelLog)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if bootBanner.Match(line) {
			clear(out)
			continue
		}
		m := xidLine.FindSubmatch(line)
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
