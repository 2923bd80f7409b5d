// Package tune is `imagepipe tune`: measured power tuning, offline. Each pipeline
// function runs under the twin's Lambda Runtime API (local/lambdart) at Lambda
// memory sizes, in Linux cgroup v1 groups that give it the CPU share and the memory
// limit Lambda gives that size, against S3, Rekognition and OpenSearch stand-ins
// that answer after modelled latencies (Assumptions). It reports duration
// percentiles, billed duration, cost per million invocations and out-of-memory
// failures per function and size, picks the cheapest size within a latency bound,
// and draws the cost/duration curves as an SVG.
package tune

import "fmt"

// FullVCPUMemoryMB is the memory size at which Lambda gives a function one vCPU;
// "Lambda allocates CPU power in proportion to the amount of memory configured"
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html, read
// 2026-11-29).
const FullVCPUMemoryMB = 1769

// CFSPeriodMicros is the CFS period the cpu cgroups use (the kernel's default).
const CFSPeriodMicros = 100_000

// Lambda's memory sizes.
const (
	MinMemoryMB = 128
	MaxMemoryMB = 10240
)

// CPUShare is the vCPUs Lambda gives memoryMB (memoryMB/1769), capped at the cores
// this machine has: Lambda would give 3008 MB 1.70 vCPUs and 10240 MB 5.79, but a
// 2-core machine cannot give more than 2.
func CPUShare(memoryMB, cores int) (float64, error) {
	if memoryMB < MinMemoryMB || memoryMB > MaxMemoryMB {
		return 0, fmt.Errorf("memory %d MB is outside Lambda's %d-%d MB", memoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if cores < 1 {
		return 0, fmt.Errorf("cores must be at least 1, got %d", cores)
	}
	return min(float64(memoryMB)/FullVCPUMemoryMB, float64(cores)), nil
}

// CFSQuotaMicros is cpu.cfs_quota_us for a share of vCPUs over CFSPeriodMicros: at
// 128 MB, 7,236 µs of CPU every 100 ms. The kernel's floor is 1,000 µs.
func CFSQuotaMicros(share float64) int64 {
	return max(1000, int64(share*CFSPeriodMicros+0.5))
}

// MemoryLimitBytes is memory.limit_in_bytes for a Lambda memory size (Lambda's MB
// are MiB).
func MemoryLimitBytes(memoryMB int) int64 { return int64(memoryMB) << 20 }
