//go:build !linux

package main

// terminal reports whether fd is a terminal; off Linux, progress lines stay off.
func terminal(fd int) bool { return false }
