package traces

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes path atomically: write fills a temporary file in path's
// directory, which is then made readable (0644) and renamed over path. So
// path is either absent, or its old content, or the whole new one; nothing
// half-written is ever left behind. The directory must exist.
func WriteFile(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
