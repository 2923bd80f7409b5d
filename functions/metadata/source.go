package metadata

import (
	"errors"
	"io"
)

// errShort marks a structure that runs past the end of the file.
var errShort = errors.New("truncated")

// source reads byte ranges of one file of known size and remembers the first
// failure of the underlying reader, so that a storage error (typed by the caller's
// ReaderAt) is reported as itself and never mistaken for a corrupt image.
type source struct {
	ra   io.ReaderAt
	size int64
	err  error
}

// read returns exactly n bytes at off, errShort when the file ends first, or the
// reader's own error.
func (s *source) read(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > s.size {
		return nil, errShort
	}
	p := make([]byte, n)
	m, err := s.ra.ReadAt(p, off)
	if m == len(p) {
		return p, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, errShort
	}
	if s.err == nil {
		s.err = err
	}
	return nil, err
}

// ReadAt lets the standard decoders read through s while s records reader failures.
func (s *source) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.ra.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}
