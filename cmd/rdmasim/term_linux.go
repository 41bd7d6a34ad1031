package main

import "golang.org/x/sys/unix"

// terminal reports whether fd is a terminal.
func terminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
