package fstest

import (
	"runtime"
	"testing"
	"time"
)

// CPUMeter reports, next to ns/op (wall clock), "cpu-ns/op": the CPU time
// of the benchmark's thread per operation. On a machine shared with other
// jobs the wall clock includes the time the thread waits for a core; CPU
// time does not (nor does it count the garbage collector's other threads).
// Call Start right before the loop, Stop right after it.
type CPUMeter struct{ t0 time.Duration }

// Start locks the goroutine to its thread and notes the thread's CPU time.
func (m *CPUMeter) Start() {
	runtime.LockOSThread()
	m.t0 = threadCPU()
}

// Stop reports cpu-ns/op.
func (m *CPUMeter) Stop(b *testing.B) {
	d := threadCPU() - m.t0
	runtime.UnlockOSThread()
	if b.N > 0 && d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
