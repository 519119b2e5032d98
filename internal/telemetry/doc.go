// Package telemetry owns GPU telemetry: the samples agents send with every
// heartbeat (utilisation, memory in use, temperature, power; ECC and Xid
// counts), kept 24 hours in gpu_samples, read back per allocation (its
// owner) and per node (admins), and exposed as per-GPU Prometheus gauges.
//
// Writes are cheap by construction: the agent gateway hands each heartbeat's
// GPUs to Recorder.Observe, which only appends to a buffer in memory; the
// flusher writes the buffer with one COPY per interval. gpu_samples is
// partitioned by hour, and Retention creates partitions ahead and drops
// those past 24 hours, so pruning is a DROP TABLE, never a DELETE.
//
// It must not decide liveness, placement or health (inventory does), nor
// write the gpus rows: a sample is an observation, not state.
package telemetry
