package eioload

// ProcessCPU returns the user+system CPU seconds of process pid, all its
// threads, or 0 when pid is 0 or unreadable. It is exported for the
// Socket.IO load generator (internal/sioload).
func ProcessCPU(pid int) float64 { return processCPU(pid) }

// SelfCPU returns this process's user+system CPU seconds.
func SelfCPU() float64 { return selfCPU() }

// MachineBusy returns the CPU seconds all CPUs of the machine have been
// busy so far (/proc/stat), and whether it could be read.
func MachineBusy() (float64, bool) {
	s := machineCPU()
	return s.busy, s.ok
}
