//go:build !linux

package main

// terminal reports whether fd is a terminal; off Linux, progress lines stay off.
func terminal(fd int) bool { return false }

// physicalMemory is the machine's memory in bytes (0: unknown).
func physicalMemory() int64 { return 0 }
