package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// Dir keeps objects as files below a folder.
type Dir struct{ root string }

var _ Store = (*Dir)(nil)

// OpenDir returns a Dir rooted at root, creating the folder.
func OpenDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("blob folder: %w", err)
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// Put writes the object to a temporary file, syncs it and renames it into
// place, so a reader never sees half an object.
func (d *Dir) Put(_ context.Context, key string, r io.Reader, size int64, _ string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blob put: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("blob put: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	n, err := io.Copy(f, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("wrote %d bytes, expected %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("blob put %s: %w", key, err)
	}
	return nil
}

type fileObject struct {
	*os.File
	size int64
}

func (o fileObject) Size() int64 { return o.size }

// Get opens the file of key.
func (d *Dir) Get(_ context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, apperr.Errorf(apperr.NotFound, "object not found")
	}
	if err != nil {
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob get %s: %w", key, err)
	}
	if !st.Mode().IsRegular() { // a folder: only a prefix of other keys
		f.Close()
		return nil, apperr.Errorf(apperr.NotFound, "object not found")
	}
	return fileObject{File: f, size: st.Size()}, nil
}

// Delete removes the file of key.
func (d *Dir) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := d.path(key)
	if st, err := os.Lstat(p); err == nil && st.IsDir() { // a prefix, not an object
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob delete %s: %w", key, err)
	}
	return nil
}

// Ping checks the folder exists and is writable.
func (d *Dir) Ping(_ context.Context) error {
	f, err := os.CreateTemp(d.root, ".ping-*")
	if err != nil {
		return fmt.Errorf("blob folder not writable: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}
