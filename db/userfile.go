package db

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Errors of OpenUserFile, for callers that branch on them.
var (
	// ErrNotRegular means a user-named file is a FIFO, socket, device or
	// directory: something a read could block on or never finish.
	ErrNotRegular = errors.New("not a regular file")
	// ErrFileTooLarge means a user-named file is larger than the reader
	// accepts.
	ErrFileTooLarge = errors.New("file too large")
)

// OpenUserFile opens a file the user named (media, a model, a dataset file,
// an import) for reading. It never blocks on the open — a FIFO is refused
// at once — and it accepts only a regular file (symbolic links followed) of
// at most maxBytes bytes when maxBytes > 0. The error names the path and
// wraps ErrNotRegular, ErrFileTooLarge, syscall.EISDIR or the operating
// system's error. The caller closes the file.
func OpenUserFile(path string, maxBytes int64) (*os.File, fs.FileInfo, error) {
	// O_NONBLOCK keeps a FIFO from blocking the open; on a regular file it
	// changes nothing, and everything else is refused right after.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err // *fs.PathError names the path
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if err := checkUserFile(path, st.Mode(), st.Size(), maxBytes); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// ReadUserFile reads a whole user-named file under the rules of
// OpenUserFile. It reads at most the size the file had when opened, so a
// file that grows while it is read cannot make it read without end.
func ReadUserFile(path string, maxBytes int64) ([]byte, error) {
	f, st, err := OpenUserFile(path, maxBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: the file shrank while it was read", path)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf, nil
}

// checkUserFile applies OpenUserFile's rules to a file's mode and size.
func checkUserFile(path string, mode fs.FileMode, size, maxBytes int64) error {
	switch {
	case mode.IsDir():
		return &fs.PathError{Op: "open", Path: path, Err: syscall.EISDIR}
	case !mode.IsRegular():
		return fmt.Errorf("open %s: %w (%s)", path, ErrNotRegular, fileModeName(mode))
	case maxBytes > 0 && size > maxBytes:
		return fmt.Errorf("open %s: %w: %d bytes, at most %d", path, ErrFileTooLarge, size, maxBytes)
	}
	return nil
}

// fileModeName names a non-regular file type for error messages.
func fileModeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return m.Type().String()
}
