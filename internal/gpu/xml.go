package gpu

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The structs below name only the elements discovery uses; encoding/xml
// skips the rest (and the DOCTYPE line), so new elements in a newer driver's
// schema do not break parsing. Where the schema renamed an element across
// driver versions, both names are listed and whichever is present is used:
// nvsmi_device_v13 (driver 580) is what the real captures hold, older names
// are kept so an older driver still reports its counters.
type smiLog struct {
	XMLName       xml.Name `xml:"nvidia_smi_log"`
	DriverVersion string   `xml:"driver_version"`
	CUDAVersion   string   `xml:"cuda_version"`
	GPUs          []smiGPU `xml:"gpu"`
}

type smiGPU struct {
	ID          string `xml:"id,attr"`
	ProductName string `xml:"product_name"`
	Serial      string `xml:"serial"`
	UUID        string `xml:"uuid"`
	MinorNumber string `xml:"minor_number"`
	MIGMode     struct {
		Current string `xml:"current_mig"`
	} `xml:"mig_mode"`
	PCI struct {
		BusID string `xml:"pci_bus_id"`
	} `xml:"pci"`
	FBMemory struct {
		Total string `xml:"total"`
		Used  string `xml:"used"`
	} `xml:"fb_memory_usage"`
	Utilization struct {
		GPU string `xml:"gpu_util"`
	} `xml:"utilization"`
	ECCMode struct {
		Current string `xml:"current_ecc"`
	} `xml:"ecc_mode"`
	ECCErrors struct {
		Volatile  smiECCCounters `xml:"volatile"`
		Aggregate smiECCCounters `xml:"aggregate"`
	} `xml:"ecc_errors"`
	RetiredPages struct {
		SingleBit struct {
			Count string `xml:"retired_count"`
		} `xml:"multiple_single_bit_retirement"`
		DoubleBit struct {
			Count string `xml:"retired_count"`
		} `xml:"double_bit_retirement"`
		PendingBlacklist  string `xml:"pending_blacklist"` // the older name of pending_retirement
		PendingRetirement string `xml:"pending_retirement"`
	} `xml:"retired_pages"`
	RemappedRows struct {
		Correctable   string `xml:"remapped_row_corr"`
		Uncorrectable string `xml:"remapped_row_unc"`
		Pending       string `xml:"remapped_row_pending"`
		Failure       string `xml:"remapped_row_failure"`
	} `xml:"remapped_rows"`
	Temperature struct {
		GPU string `xml:"gpu_temp"`
	} `xml:"temperature"`
	// Drivers from about 535 report gpu_power_readings; older ones
	// power_readings. The field names moved too.
	GPUPower smiPower `xml:"gpu_power_readings"`
	Power    smiPower `xml:"power_readings"`
}

type smiPower struct {
	AverageDraw  string `xml:"average_power_draw"`
	InstantDraw  string `xml:"instant_power_draw"`
	Draw         string `xml:"power_draw"`
	CurrentLimit string `xml:"current_power_limit"`
	Limit        string `xml:"power_limit"`
}

// smiECCCounters covers three generations of the ECC block: Hopper and
// later split SRAM uncorrectable errors into parity and SEC-DED, Ampere has
// one sram_uncorrectable, and pre-Ampere counts single_bit / double_bit with
// a total. Only one generation's elements appear in a document, so summing
// them all never counts an error twice.
type smiECCCounters struct {
	SRAMCorrectable         string `xml:"sram_correctable"`
	SRAMUncorrectable       string `xml:"sram_uncorrectable"`
	SRAMUncorrectableParity string `xml:"sram_uncorrectable_parity"`
	SRAMUncorrectableSECDED string `xml:"sram_uncorrectable_secded"`
	DRAMCorrectable         string `xml:"dram_correctable"`
	DRAMUncorrectable       string `xml:"dram_uncorrectable"`
	SingleBitTotal          string `xml:"single_bit>total"`
	DoubleBitTotal          string `xml:"double_bit>total"`
}

func (c smiECCCounters) corrected() int64 {
	return num64(c.SRAMCorrectable) + num64(c.DRAMCorrectable) + num64(c.SingleBitTotal)
}

func (c smiECCCounters) uncorrected() int64 {
	return num64(c.SRAMUncorrectable) + num64(c.SRAMUncorrectableParity) + num64(c.SRAMUncorrectableSECDED) +
		num64(c.DRAMUncorrectable) + num64(c.DoubleBitTotal)
}

// ParseXML reads the output of `nvidia-smi -q -x` and judges each GPU's
// health from its own counters (no Xids: see Assess). It fails only when r
// is not an nvidia-smi XML document; a value nvidia-smi could not read
// ("N/A", "[Not Supported]", "[GPU requires reset]" …) becomes zero or "".
func ParseXML(r io.Reader) (Inventory, error) {
	var doc smiLog
	dec := xml.NewDecoder(r)
	// nvidia-smi declares no encoding beyond the default; accept a
	// non-UTF-8 charset label anyway rather than failing on it.
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	if err := dec.Decode(&doc); err != nil {
		return Inventory{}, fmt.Errorf("parse nvidia-smi XML: %w", err)
	}
	inv := Inventory{
		DriverVersion: text(doc.DriverVersion),
		CUDAVersion:   text(doc.CUDAVersion),
		GPUs:          make([]Device, 0, len(doc.GPUs)),
	}
	for i, g := range doc.GPUs {
		inv.GPUs = append(inv.GPUs, device(i, g))
	}
	if len(inv.GPUs) == 0 {
		inv.Note = "nvidia-smi lists no GPUs"
	}
	Assess(&inv, nil)
	return inv, nil
}

func device(index int, g smiGPU) Device {
	bus := text(g.PCI.BusID)
	if bus == "" {
		bus = text(g.ID)
	}
	return Device{
		Index:                 index,
		UUID:                  text(g.UUID),
		MinorNumber:           minorNumber(g.MinorNumber),
		Name:                  text(g.ProductName),
		PCIBusID:              bus,
		Serial:                text(g.Serial),
		MemoryTotalMiB:        num(g.FBMemory.Total),
		MemoryUsedMiB:         num(g.FBMemory.Used),
		UtilizationGPUPercent: num(g.Utilization.GPU),
		TemperatureC:          num(g.Temperature.GPU),
		// power.draw is the one-second average on Ampere and later; the
		// instant reading jumps around (713 W of a 700 W cap in the busy
		// capture), so it is only the fallback.
		PowerDrawW:  firstFloat(g.GPUPower.AverageDraw, g.GPUPower.Draw, g.GPUPower.InstantDraw, g.Power.Draw, g.Power.AverageDraw),
		PowerLimitW: firstFloat(g.GPUPower.CurrentLimit, g.GPUPower.Limit, g.Power.CurrentLimit, g.Power.Limit),
		MIGMode:     text(g.MIGMode.Current),
		ECC: ECC{
			Mode:                 text(g.ECCMode.Current),
			VolatileCorrected:    g.ECCErrors.Volatile.corrected(),
			VolatileUncorrected:  g.ECCErrors.Volatile.uncorrected(),
			AggregateCorrected:   g.ECCErrors.Aggregate.corrected(),
			AggregateUncorrected: g.ECCErrors.Aggregate.uncorrected(),
		},
		RetiredPages: RetiredPages{
			SingleBit: num(g.RetiredPages.SingleBit.Count),
			DoubleBit: num(g.RetiredPages.DoubleBit.Count),
			Pending:   yes(g.RetiredPages.PendingRetirement) || yes(g.RetiredPages.PendingBlacklist),
		},
		RowRemapping: RowRemapping{
			Correctable:   num(g.RemappedRows.Correctable),
			Uncorrectable: num(g.RemappedRows.Uncorrectable),
			Pending:       yes(g.RemappedRows.Pending),
			Failure:       yes(g.RemappedRows.Failure),
		},
	}
}

// text trims a value and maps nvidia-smi's "could not read" markers to "".
func text(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "N/A", strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		// "[N/A]", "[Not Supported]", "[Insufficient Permissions]",
		// "[GPU requires reset]", "[Unknown Error]".
		return ""
	case s == "Not Supported", s == "Unknown Error":
		return ""
	}
	return s
}

// leadingNumber returns the number at the start of a value such as
// "143771 MiB", "57 C", "100 %" or "79.46 W", and false when there is none.
func leadingNumber(s string) (string, bool) {
	s = text(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || (end == 0 && s[end] == '-')) {
		end++
	}
	if end == 0 || s[:end] == "-" {
		return "", false
	}
	return s[:end], true
}

func num64(s string) int64 {
	n, ok := leadingNumber(s)
	if !ok {
		return 0
	}
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		return v
	}
	if f, err := strconv.ParseFloat(n, 64); err == nil {
		return int64(f)
	}
	return 0
}

// minorNumber reads <minor_number>, -1 when it is missing or "N/A" (which
// nvidia-smi prints where there is no /dev/nvidiaN, as under WSL).
func minorNumber(s string) int {
	n, err := strconv.Atoi(text(s))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func num(s string) int { return int(num64(s)) }

func parseFloat(s string) (float64, bool) {
	n, ok := leadingNumber(s)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(n, 64)
	return f, err == nil
}

// firstFloat returns the first of values that holds a number.
func firstFloat(values ...string) float64 {
	for _, v := range values {
		if f, ok := parseFloat(v); ok {
			return f
		}
	}
	return 0
}

func yes(s string) bool { return strings.EqualFold(text(s), "yes") }
