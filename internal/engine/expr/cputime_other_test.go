//go:build !linux

package expr_test

import "testing"

// cpuMeter reports nothing where per-thread CPU time is not available.
type cpuMeter struct{}

func (*cpuMeter) start()          {}
func (*cpuMeter) stop(*testing.B) {}
