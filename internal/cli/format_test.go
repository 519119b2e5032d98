package cli_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/cli"
)

func TestFormatPrice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		minor    int64
		currency string
		want     string
	}{
		{249, "USD", "USD 2.49"},
		{1992, "USD", "USD 19.92"},
		{5, "EUR", "EUR 0.05"},
		{0, "USD", "USD 0.00"},
		{100, "USD", "USD 1.00"},
		{-150, "USD", "USD -1.50"},
		{500, "JPY", "JPY 500"},
		{1234, "KWD", "KWD 1.234"},
		{7, "KWD", "KWD 0.007"},
		{math.MinInt64, "USD", "USD -92233720368547758.08"},
	}
	for _, tc := range cases {
		if got := cli.FormatPrice(tc.minor, tc.currency); got != tc.want {
			t.Errorf("FormatPrice(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
	}
}

func TestWriteSKUs(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	err := cli.WriteSKUs(&b, []api.SKU{
		{Id: "h100-80gb-x8", Name: "H100 80GB ×8", GpuCount: 8, GpuModel: "NVIDIA H100 80GB HBM3", PricePerHourMinor: 1992, Currency: "USD", Region: "local-1", Available: 2},
		{Id: "a100-80gb-x1", Name: "A100\x1b[31m", GpuCount: 1, GpuModel: "NVIDIA A100-SXM4-80GB", PricePerHourMinor: 149, Currency: "USD", Region: "local-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want header and 2 rows:\n%s", b.String())
	}
	for _, col := range []string{"ID", "NAME", "GPUS", "PRICE/H", "REGION", "AVAILABLE"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header %q lacks %s", lines[0], col)
		}
	}
	if !strings.Contains(lines[1], "8 × NVIDIA H100 80GB HBM3") || !strings.Contains(lines[1], "USD 19.92") || !strings.HasSuffix(lines[1], "2") {
		t.Errorf("row %q", lines[1])
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("escape sequence from the server reached the terminal: %q", lines[2])
	}
}

func TestWriteNodes(t *testing.T) {
	t.Parallel()
	h := api.GPUHealthHealthy
	var b bytes.Buffer
	err := cli.WriteNodes(&b, []api.Node{{
		Hostname: "sim-h100-01", Region: "local-1", Status: api.NodeStatusOnline, AdminState: api.NodeAdminStateActive,
		Gpus: []api.GPU{{Health: h}, {Health: h, Allocated: true}, {Health: api.GPUHealthUnhealthy}, {Health: h}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	row := strings.Split(strings.TrimSpace(b.String()), "\n")[1]
	if strings.Join(strings.Fields(row), " ") != "sim-h100-01 local-1 online active 2/4" {
		t.Errorf("row %q", row)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	got := cli.Describe(&sdkError{Status: 409, Code: "duplicate_hostname", Message: "hostname taken", CorrelationID: "abc"})
	if got != "duplicate_hostname: hostname taken (HTTP 409, correlation id abc)" {
		t.Errorf("got %q", got)
	}
}
