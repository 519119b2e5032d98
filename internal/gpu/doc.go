// Package gpu owns discovering the GPUs of the host it runs on and judging
// their health. It reads `nvidia-smi -q -x` (NVML is optional and not used
// yet) and, when readable, the kernel log for Xid events.
//
// The hardware sits behind one small interface, Discoverer, in the spirit of
// Nomad's device plugin fingerprint: the node agent asks for an Inventory
// and reports it; tests use recorded nvidia-smi output instead of a GPU.
//
// It must not talk to the control plane, keep state between calls, or decide
// placement: it says what is there and whether it is fit to use, and the
// agent and the scheduler act on that.
//
// # Health
//
// A GPU is "unhealthy" when any of these holds, each adding one reason to
// HealthReasons (the admin node view shows them):
//
//   - uncorrectable ECC errors since the driver loaded (the volatile
//     DRAM and SRAM uncorrectable / double-bit counters) are above zero:
//     "uncorrectable ECC errors: 2 (volatile)". Aggregate (lifetime) counts
//     are reported but do not by themselves make a GPU unhealthy: they never
//     go down, and a repaired GPU would otherwise stay unhealthy for life;
//   - row remapping failed ("row remapping failure"): the memory could not
//     be repaired;
//   - a row remap is pending ("row remapping pending: reset the GPU"), or a
//     page retirement is pending on pre-Ampere GPUs ("page retirement
//     pending: reset the GPU"): the repair only takes effect after a reset;
//   - the kernel log holds an Xid from FatalXids for the GPU's PCI address
//     ("Xid 79: GPU has fallen off the bus"). The log read is the current
//     boot's when it comes from dmesg, so a reboot clears the reason.
//
// Every other GPU is "healthy". Values that nvidia-smi prints as "N/A" (or
// "[Not Supported]" and the like) are zero or empty, never an error: a GPU
// without ECC, for example, has no counters to judge and is healthy.
//
// A host without an NVIDIA driver, or whose nvidia-smi fails, has an
// Inventory with no GPUs and a Note that says why; that is not an error, so
// an agent on such a host still starts and reports it.
package gpu
