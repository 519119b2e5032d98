package gpu_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/gpu"
)

// The testdata/*.xml files are real `nvidia-smi -q -x` captures (see
// testdata/README.md); every other shape below is derived from them in code.

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, doc []byte) gpu.Inventory {
	t.Helper()
	inv, err := gpu.ParseXML(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// replace swaps the first old for new in doc and fails when old is not
// there, so a derived shape cannot silently stay the real one.
func replace(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("fixture has no %q", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

func TestParseRealCaptures(t *testing.T) {
	healthyECC := gpu.ECC{Mode: "Enabled"}
	cases := []struct {
		file string
		want gpu.Device
	}{
		{"h200-idle.xml", gpu.Device{
			Index: 0, UUID: "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89", Name: "NVIDIA H200",
			PCIBusID: "00000000:00:06.0", Serial: "1653824018610",
			MemoryTotalMiB: 143771, MemoryUsedMiB: 0, UtilizationGPUPercent: 0, TemperatureC: 36,
			PowerDrawW: 79.46, PowerLimitW: 700, MIGMode: "Disabled", ECC: healthyECC,
			Health: gpu.Healthy, HealthReasons: []string{},
		}},
		// Busy: 12 s into a PyTorch bf16 matmul loop holding 20 GiB.
		{"h200-busy.xml", gpu.Device{
			Index: 0, UUID: "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b", Name: "NVIDIA H200",
			PCIBusID: "00000000:00:06.0", Serial: "1653724058060",
			MemoryTotalMiB: 143771, MemoryUsedMiB: 21619, UtilizationGPUPercent: 100, TemperatureC: 57,
			PowerDrawW: 691.86, PowerLimitW: 700, MIGMode: "Disabled", ECC: healthyECC,
			Health: gpu.Healthy, HealthReasons: []string{},
		}},
		{"h100-80gb-idle.xml", gpu.Device{
			Index: 0, UUID: "GPU-1de6e14e-2d3c-789a-263b-be3afedeed29", Name: "NVIDIA H100 80GB HBM3",
			PCIBusID: "00000000:00:06.0", Serial: "1753024031414",
			MemoryTotalMiB: 81559, MemoryUsedMiB: 0, UtilizationGPUPercent: 0, TemperatureC: 36,
			PowerDrawW: 122.76, PowerLimitW: 700, MIGMode: "Disabled", ECC: healthyECC,
			Health: gpu.Healthy, HealthReasons: []string{},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			inv := parse(t, fixture(t, c.file))
			if inv.DriverVersion != "580.159.04" || inv.CUDAVersion != "13.0" || inv.Note != "" {
				t.Errorf("driver %q cuda %q note %q", inv.DriverVersion, inv.CUDAVersion, inv.Note)
			}
			if len(inv.GPUs) != 1 {
				t.Fatalf("%d GPUs", len(inv.GPUs))
			}
			if got := inv.GPUs[0]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("device\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestInventoryJSONIsSnakeCase(t *testing.T) {
	b, err := json.Marshal(parse(t, fixture(t, "h200-busy.xml")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"driver_version":"580.159.04"`, `"cuda_version":"13.0"`,
		`"pci_bus_id":"00000000:00:06.0"`, `"memory_total_mib":143771`, `"utilization_gpu_percent":100`,
		`"temperature_c":57`, `"power_limit_w":700`, `"mig_mode":"Disabled"`, `"volatile_uncorrected":0`,
		`"row_remapping":{`, `"health":"healthy"`, `"health_reasons":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"note"`) {
		t.Errorf("empty note is shown: %s", b)
	}
}

// multiGPU derives an n-GPU document from a real single-GPU capture by
// repeating its <gpu> element with a distinct uuid, bus id, serial and minor
// number per copy, the way nvidia-smi prints one <gpu> per device on an
// 8x H200 host. mutate, when not nil, may change copy i further.
func multiGPU(t *testing.T, doc []byte, n int, mutate func(i int, gpuXML string) string) []byte {
	t.Helper()
	s := string(doc)
	start := strings.Index(s, "\t<gpu id=")
	end := strings.Index(s, "</gpu>")
	if start < 0 || end < 0 {
		t.Fatal("fixture has no <gpu> element")
	}
	end += len("</gpu>\n")
	one := s[start:end]
	inv := parse(t, doc)
	realUUID, realBus, realSerial := inv.GPUs[0].UUID, inv.GPUs[0].PCIBusID, inv.GPUs[0].Serial
	var gpus strings.Builder
	for i := 0; i < n; i++ {
		g := strings.ReplaceAll(one, realUUID, derivedUUID(realUUID, i))
		g = strings.ReplaceAll(g, realBus, derivedBus(i))
		g = strings.ReplaceAll(g, realSerial, fmt.Sprintf("%s%d", realSerial[:len(realSerial)-1], i))
		g = strings.Replace(g, "<minor_number>0</minor_number>", fmt.Sprintf("<minor_number>%d</minor_number>", i), 1)
		if mutate != nil {
			g = mutate(i, g)
		}
		gpus.WriteString(g)
	}
	out := s[:start] + gpus.String() + s[end:]
	return []byte(strings.Replace(out, "<attached_gpus>1</attached_gpus>", fmt.Sprintf("<attached_gpus>%d</attached_gpus>", n), 1))
}

// derivedUUID keeps the real uuid's shape and changes its last hex digits.
func derivedUUID(real string, i int) string { return fmt.Sprintf("%s%02x", real[:len(real)-2], i) }

// derivedBus spreads copies over PCI buses as an HGX board does.
func derivedBus(i int) string { return fmt.Sprintf("00000000:%02X:00.0", 0x18+0x10*i) }

func TestParseDerivedMultiGPU(t *testing.T) {
	for _, n := range []int{2, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			real := fixture(t, "h200-busy.xml")
			inv := parse(t, multiGPU(t, real, n, nil))
			if len(inv.GPUs) != n {
				t.Fatalf("%d GPUs, want %d", len(inv.GPUs), n)
			}
			uuids := map[string]bool{}
			for i, d := range inv.GPUs {
				if d.Index != i || d.MinorNumber != i || d.PCIBusID != derivedBus(i) || d.Name != "NVIDIA H200" ||
					d.MemoryUsedMiB != 21619 || d.UtilizationGPUPercent != 100 || d.Health != gpu.Healthy {
					t.Errorf("gpu %d: %+v", i, d)
				}
				uuids[d.UUID] = true
			}
			if len(uuids) != n {
				t.Errorf("uuids not distinct: %v", uuids)
			}
		})
	}
}

// A GPU with no device node (nvidia-smi prints N/A, as under WSL) has minor
// number -1, so nothing mistakes it for /dev/nvidia0.
func TestMinorNumberUnknown(t *testing.T) {
	doc := replace(t, fixture(t, "h200-idle.xml"), "<minor_number>0</minor_number>", "<minor_number>N/A</minor_number>")
	if got := parse(t, doc).GPUs[0].MinorNumber; got != -1 {
		t.Errorf("minor number %d, want -1", got)
	}
}

// The volatile block comes before the aggregate one in the document, so the
// first <dram_uncorrectable> is the volatile counter.
const volatileDBE = "<dram_uncorrectable>0</dram_uncorrectable>"

func TestDerivedErrorShapes(t *testing.T) {
	cases := []struct {
		name, old, new string
		reason         string
		check          func(gpu.Device) bool
	}{
		{"volatile DBE", volatileDBE, "<dram_uncorrectable>2</dram_uncorrectable>",
			"uncorrectable ECC errors: 2 (volatile)",
			func(d gpu.Device) bool { return d.ECC.VolatileUncorrected == 2 && d.ECC.AggregateUncorrected == 0 }},
		{"volatile SRAM parity", "<sram_uncorrectable_parity>0</sram_uncorrectable_parity>",
			"<sram_uncorrectable_parity>1</sram_uncorrectable_parity>",
			"uncorrectable ECC errors: 1 (volatile)",
			func(d gpu.Device) bool { return d.ECC.VolatileUncorrected == 1 }},
		{"row remapping failure", "<remapped_row_failure>No</remapped_row_failure>",
			"<remapped_row_failure>Yes</remapped_row_failure>", "row remapping failure",
			func(d gpu.Device) bool { return d.RowRemapping.Failure && !d.RowRemapping.Pending }},
		{"row remapping pending", "<remapped_row_pending>No</remapped_row_pending>",
			"<remapped_row_pending>Yes</remapped_row_pending>", "row remapping pending: reset the GPU",
			func(d gpu.Device) bool { return d.RowRemapping.Pending }},
		{"page retirement pending", "<pending_retirement>N/A</pending_retirement>",
			"<pending_retirement>Yes</pending_retirement>", "page retirement pending: reset the GPU",
			func(d gpu.Device) bool { return d.RetiredPages.Pending }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := parse(t, replace(t, fixture(t, "h200-idle.xml"), c.old, c.new))
			d := inv.GPUs[0]
			if d.Health != gpu.Unhealthy || !reflect.DeepEqual(d.HealthReasons, []string{c.reason}) || !c.check(d) {
				t.Errorf("got %s %q, %+v", d.Health, d.HealthReasons, d)
			}
		})
	}
}

// A lifetime (aggregate) DBE count alone does not take a GPU out: it never
// goes down, even after the memory was repaired.
func TestDerivedAggregateOnlyErrorsStayHealthy(t *testing.T) {
	doc := fixture(t, "h200-idle.xml")
	i := bytes.Index(doc, []byte("<aggregate>"))
	agg := replace(t, doc[i:], volatileDBE, "<dram_uncorrectable>3</dram_uncorrectable>")
	d := parse(t, append(append([]byte{}, doc[:i]...), agg...)).GPUs[0]
	if d.ECC.AggregateUncorrected != 3 || d.ECC.VolatileUncorrected != 0 || d.Health != gpu.Healthy {
		t.Errorf("%+v", d)
	}
}

// One bad GPU of eight: only it is unhealthy.
func TestDerivedEightGPUsOneBad(t *testing.T) {
	doc := multiGPU(t, fixture(t, "h200-idle.xml"), 8, func(i int, g string) string {
		if i == 5 {
			return strings.Replace(g, volatileDBE, "<dram_uncorrectable>1</dram_uncorrectable>", 1)
		}
		return g
	})
	for i, d := range parse(t, doc).GPUs {
		if want := i == 5; (d.Health == gpu.Unhealthy) != want {
			t.Errorf("gpu %d: %s %q", i, d.Health, d.HealthReasons)
		}
	}
}

// Values nvidia-smi cannot read come as "N/A" or "[...]"; they are zero.
func TestDerivedNotAvailableFieldsAreZero(t *testing.T) {
	doc := fixture(t, "h200-busy.xml")
	for _, r := range [][2]string{
		{"<gpu_util>100 %</gpu_util>", "<gpu_util>N/A</gpu_util>"},
		{"<gpu_temp>57 C</gpu_temp>", "<gpu_temp>N/A</gpu_temp>"},
		{"<total>143771 MiB</total>", "<total>N/A</total>"},
		{"<used>21619 MiB</used>", "<used>[Insufficient Permissions]</used>"},
		{"<average_power_draw>691.86 W</average_power_draw>", "<average_power_draw>N/A</average_power_draw>"},
		{"<instant_power_draw>713.40 W</instant_power_draw>", "<instant_power_draw>[Not Supported]</instant_power_draw>"},
		{"<current_power_limit>700.00 W</current_power_limit>", "<current_power_limit>N/A</current_power_limit>"},
		{"<current_mig>Disabled</current_mig>", "<current_mig>N/A</current_mig>"},
		{"<current_ecc>Enabled</current_ecc>", "<current_ecc>N/A</current_ecc>"},
		{"<serial>1653724058060</serial>", "<serial>N/A</serial>"},
		{volatileDBE, "<dram_uncorrectable>N/A</dram_uncorrectable>"},
		{"<remapped_row_failure>No</remapped_row_failure>", "<remapped_row_failure>N/A</remapped_row_failure>"},
		{"<cuda_version>13.0</cuda_version>", "<cuda_version>N/A</cuda_version>"},
	} {
		doc = replace(t, doc, r[0], r[1])
	}
	inv := parse(t, doc)
	d := inv.GPUs[0]
	if inv.CUDAVersion != "" || d.UtilizationGPUPercent != 0 || d.TemperatureC != 0 || d.MemoryTotalMiB != 0 ||
		d.MemoryUsedMiB != 0 || d.PowerDrawW != 0 || d.PowerLimitW != 0 || d.MIGMode != "" || d.ECC.Mode != "" ||
		d.Serial != "" || d.Health != gpu.Healthy {
		t.Errorf("%+v", d)
	}
	if d.UUID != "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b" {
		t.Errorf("uuid %q", d.UUID)
	}
}

// A derived MIG-enabled shape: the mode is reported as printed.
func TestDerivedMIGEnabled(t *testing.T) {
	doc := replace(t, fixture(t, "h100-80gb-idle.xml"), "<current_mig>Disabled</current_mig>", "<current_mig>Enabled</current_mig>")
	if m := parse(t, doc).GPUs[0].MIGMode; m != "Enabled" {
		t.Errorf("mig %q", m)
	}
}

func TestParseXMLRejectsWhatIsNotNvidiaSMI(t *testing.T) {
	for _, in := range []string{"", "NVIDIA-SMI has failed", "<other/>", "<nvidia_smi_log><gpu>"} {
		if _, err := gpu.ParseXML(strings.NewReader(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	inv, err := gpu.ParseXML(strings.NewReader(`<?xml version="1.0" ?><!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v13.dtd"><nvidia_smi_log><attached_gpus>0</attached_gpus></nvidia_smi_log>`))
	if err != nil || len(inv.GPUs) != 0 || inv.GPUs == nil || inv.Note == "" {
		t.Errorf("no GPUs: %+v %v", inv, err)
	}
}
