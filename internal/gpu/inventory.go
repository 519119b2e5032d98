package gpu

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Discoverer finds the GPUs of this host and judges their health. An error
// means the answer could not be read at all (output that is not nvidia-smi's
// XML, a cancelled context); a host without GPUs or driver is not an error
// but an Inventory with no GPUs and a Note.
type Discoverer interface {
	Discover(ctx context.Context) (Inventory, error)
}

// Health values of a Device.
const (
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// Inventory is what one discovery found on the host.
type Inventory struct {
	DriverVersion string   `json:"driver_version"`
	CUDAVersion   string   `json:"cuda_version"`
	GPUs          []Device `json:"gpus"`
	// Note says what discovery could not do: no driver, nvidia-smi failing,
	// a kernel log it could not read. Empty when all went well.
	Note string `json:"note,omitempty"`
}

// Device is one GPU as nvidia-smi reports it.
type Device struct {
	// Index is the GPU's position in nvidia-smi's output, which is the order
	// nvidia-smi and CUDA (with CUDA_DEVICE_ORDER=PCI_BUS_ID) number GPUs in.
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
	// MinorNumber is the minor of the GPU's device node: /dev/nvidiaN is
	// N = MinorNumber, which need not equal Index. -1 when unknown.
	MinorNumber           int          `json:"minor_number"`
	Name                  string       `json:"name"`
	PCIBusID              string       `json:"pci_bus_id"`
	Serial                string       `json:"serial"`
	MemoryTotalMiB        int          `json:"memory_total_mib"`
	MemoryUsedMiB         int          `json:"memory_used_mib"`
	UtilizationGPUPercent int          `json:"utilization_gpu_percent"`
	TemperatureC          int          `json:"temperature_c"`
	PowerDrawW            float64      `json:"power_draw_w"`
	PowerLimitW           float64      `json:"power_limit_w"`
	MIGMode               string       `json:"mig_mode"`
	ECC                   ECC          `json:"ecc"`
	RetiredPages          RetiredPages `json:"retired_pages"`
	RowRemapping          RowRemapping `json:"row_remapping"`
	// Xids are the Xid codes the kernel log holds for this GPU, fatal or
	// not, in the order they were logged; empty when the log was not read.
	Xids          []int    `json:"xids,omitempty"`
	Health        string   `json:"health"`
	HealthReasons []string `json:"health_reasons"`
}

// ECC holds error counts summed over DRAM and SRAM. Volatile counts start at
// zero when the driver loads; aggregate counts are kept for the GPU's life.
type ECC struct {
	Mode                 string `json:"mode"` // "Enabled", "Disabled" or "" when unsupported
	VolatileCorrected    int64  `json:"volatile_corrected"`
	VolatileUncorrected  int64  `json:"volatile_uncorrected"`
	AggregateCorrected   int64  `json:"aggregate_corrected"`
	AggregateUncorrected int64  `json:"aggregate_uncorrected"`
}

// RetiredPages is the page retirement of pre-Ampere GPUs; Ampere and later
// remap rows instead and report N/A here (all zero).
type RetiredPages struct {
	SingleBit int  `json:"single_bit"`
	DoubleBit int  `json:"double_bit"`
	Pending   bool `json:"pending"`
}

// RowRemapping is the memory repair of Ampere and later GPUs.
type RowRemapping struct {
	Correctable   int  `json:"correctable"`
	Uncorrectable int  `json:"uncorrectable"`
	Pending       bool `json:"pending"`
	Failure       bool `json:"failure"`
}

// FatalXids are the Xid codes that make a GPU unhealthy, with the meaning
// NVIDIA's Xid catalogue gives them. They are the ones that mean the memory
// or the GPU itself cannot be trusted until a reset or a repair; Xids caused
// by a user's program (13, 31, 43, 45 …) are left out, or any bad kernel
// would take a GPU out of placement.
var FatalXids = map[int]string{
	48:  "double-bit ECC error",
	63:  "ECC page retirement or row remapping recorded",
	64:  "ECC page retirement or row remapping failure",
	74:  "NVLink error",
	79:  "GPU has fallen off the bus",
	92:  "high single-bit ECC error rate",
	94:  "contained ECC error",
	95:  "uncontained ECC error",
	119: "GSP RPC timeout",
	120: "GSP error",
}

// Assess sets Health and HealthReasons of every GPU in inv from its own
// counters and from xids (PCI address, in any form ShortBusID accepts, to
// the Xid codes logged for it; nil when the kernel log was not read).
func Assess(inv *Inventory, xids map[string][]int) {
	byBus := make(map[string][]int, len(xids))
	for bus, codes := range xids {
		k := ShortBusID(bus)
		byBus[k] = append(byBus[k], codes...)
	}
	for i := range inv.GPUs {
		d := &inv.GPUs[i]
		d.Xids = byBus[ShortBusID(d.PCIBusID)]
		d.HealthReasons = reasons(*d)
		d.Health = Healthy
		if len(d.HealthReasons) > 0 {
			d.Health = Unhealthy
		}
	}
}

// reasons lists why d is unhealthy, empty (not nil, so JSON shows []) when
// it is not.
func reasons(d Device) []string {
	out := []string{}
	if d.ECC.VolatileUncorrected > 0 {
		out = append(out, fmt.Sprintf("uncorrectable ECC errors: %d (volatile)", d.ECC.VolatileUncorrected))
	}
	if d.RowRemapping.Failure {
		out = append(out, "row remapping failure")
	}
	if d.RowRemapping.Pending {
		out = append(out, "row remapping pending: reset the GPU")
	}
	if d.RetiredPages.Pending {
		out = append(out, "page retirement pending: reset the GPU")
	}
	var seen []int
	for _, x := range d.Xids {
		what, fatal := FatalXids[x]
		if !fatal || slices.Contains(seen, x) {
			continue
		}
		seen = append(seen, x)
		out = append(out, fmt.Sprintf("Xid %d: %s", x, what))
	}
	return out
}

// ShortBusID turns a PCI address into the form the kernel's Xid lines use,
// lower case "dddd:bb:dd": nvidia-smi writes "00000000:3B:00.0" (32-bit
// domain, function) and the driver's log "PCI:0000:3b:00", and both must
// name the same GPU. A string it does not recognise comes back lower-cased.
func ShortBusID(id string) string {
	s := strings.ToLower(strings.TrimSpace(id))
	s = strings.TrimPrefix(s, "pci:")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[:i] // the function: GPUs are function 0
	}
	parts := strings.Split(s, ":")
	if len(parts) == 2 { // "bb:dd" without a domain
		parts = append([]string{"0000"}, parts...)
	}
	if len(parts) != 3 {
		return s
	}
	dom := strings.TrimLeft(parts[0], "0")
	for len(dom) < 4 {
		dom = "0" + dom
	}
	return dom + ":" + parts[1] + ":" + parts[2]
}
