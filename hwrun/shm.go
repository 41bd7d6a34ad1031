package hwrun

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// shmPrefix starts the name of every shared memory file of a run with one
// process per node: rdmasim-SESSION-rRUN-nNODE.
const shmPrefix = "rdmasim-"

// defaultShmDir is /dev/shm (memory, not disk) where there is one, else the
// temporary directory.
func defaultShmDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() && unix.Access("/dev/shm", unix.W_OK) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// createShm creates the file path (it must not exist) of size bytes, zeroed,
// and maps it shared. The caller unlinks it.
func createShm(path string, size int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the shared memory file: %v", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("sizing the shared memory file %s: %v", path, err)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("mapping the shared memory file %s: %v", path, err)
	}
	return b, nil
}

// openShm maps another node's shared memory file, which must be size bytes.
func openShm(path string, size int) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening a peer's shared memory file (the native backend needs every node on this machine; use --backend verbs across machines): %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() != int64(size) {
		return nil, fmt.Errorf("the shared memory file %s has %d bytes, want %d", path, fi.Size(), size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the shared memory file %s: %v", path, err)
	}
	return b, nil
}

func unmap(b []byte) { unix.Munmap(b) }
