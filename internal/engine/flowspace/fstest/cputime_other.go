//go:build !linux

package fstest

import "time"

// threadCPU is not measured outside Linux: Stop reports nothing.
func threadCPU() time.Duration { return 0 }
