package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gpuaas/gpuaas/api"
)

// minorDigits is the number of minor-unit digits of currencies that do not
// have the usual two (ISO 4217).
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// FormatPrice renders an amount in minor units, e.g. (249, "USD") → "USD 2.49".
func FormatPrice(minor int64, currency string) string {
	digits, ok := minorDigits[currency]
	if !ok {
		digits = 2
	}
	sign := ""
	// Negate in uint64 so math.MinInt64 does not overflow.
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", -u
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	return strings.TrimSpace(currency + " " + sign + s)
}

// FormatGPUs renders a SKU's devices, e.g. "8 × NVIDIA H100 80GB HBM3".
func FormatGPUs(count int, model string) string {
	return fmt.Sprintf("%d × %s", count, model)
}

// FreeGPUs counts a node's GPUs that are healthy and not allocated.
func FreeGPUs(n api.Node) int {
	free := 0
	for _, g := range n.Gpus {
		if !g.Allocated && g.Health == api.GPUHealthHealthy {
			free++
		}
	}
	return free
}

// WriteSKUs writes skus as a table.
func WriteSKUs(w io.Writer, skus []api.SKU) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tGPUS\tPRICE/H\tREGION\tAVAILABLE")
	for _, s := range skus {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", clean(s.Id), clean(s.Name), clean(FormatGPUs(s.GpuCount, s.GpuModel)),
			clean(FormatPrice(s.PricePerHourMinor, s.Currency)), clean(s.Region), s.Available)
	}
	return tw.Flush()
}

// WriteNodes writes nodes as a table.
func WriteNodes(w io.Writer, nodes []api.Node) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTNAME\tREGION\tSTATUS\tADMIN\tGPUS")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\n", clean(n.Hostname), clean(n.Region), clean(string(n.Status)),
			clean(string(n.AdminState)), FreeGPUs(n), len(n.Gpus))
	}
	return tw.Flush()
}

// WriteJSON writes v indented, for `-o json`.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clean keeps server-supplied text from breaking the table or driving the
// terminal: control characters (escape sequences, tabs, newlines) become '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
