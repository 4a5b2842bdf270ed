package expr_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU is the CPU time (user + system) of the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports, next to ns/op (wall clock), "cpu-ns/op": the CPU time
// of the benchmark's thread per operation. On a machine shared with other
// jobs the wall clock includes the time the thread waits for a core; CPU
// time does not. Call start right before the loop, stop right after it.
type cpuMeter struct{ t0 time.Duration }

func (m *cpuMeter) start() {
	runtime.LockOSThread()
	m.t0 = threadCPU()
}

func (m *cpuMeter) stop(b *testing.B) {
	d := threadCPU() - m.t0
	runtime.UnlockOSThread()
	if b.N > 0 && d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
