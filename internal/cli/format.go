package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/money"
)

// FormatPrice renders an amount in minor units, e.g. (249, "USD") → "USD 2.49".
func FormatPrice(minor int64, currency string) string { return money.Format(minor, currency) }

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
