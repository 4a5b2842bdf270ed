//go:build !linux

package replay

import "time"

func processCPU() time.Duration { return 0 }
