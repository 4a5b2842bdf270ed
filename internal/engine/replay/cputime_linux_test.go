package replay

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) of the whole process: the
// replay's goroutines and the garbage collector's. On a machine shared with
// other jobs it measures the work done, not the time spent waiting for a
// core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
