// Package heif reads the structure of a HEIF file (HEIC, AVIF) without decoding
// pixels: the primary image's codec, coded size, bit depth and chroma, its
// transformations (rotation, mirror) as an EXIF orientation, and where its Exif
// metadata item lies. It reads through an io.ReaderAt, so that a caller reading an
// S3 object by ranges fetches only the boxes it needs; every count and size read
// from the file is bounded before it is used.
//
// References: ISO/IEC 23008-12 (HEIF) and ISO/IEC 14496-12 (the ISO base media
// file format), as libheif reads them.
package heif

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Info is what the file says about its primary image.
type Info struct {
	// Codec is the primary item's coding: "hvc1" (HEVC, a HEIC) or "av01" (AV1, an
	// AVIF). A grid's codec is its tiles'.
	Codec string
	// Width and Height are the coded size (the ispe property; a grid's output size),
	// before any transformation: the stored pixel dimensions.
	Width, Height int
	// Rotation is irot's anticlockwise quarter turns (0-3); Mirror is imir's axis,
	// 0 (left and right swap) or 1 (top and bottom swap), or -1 when absent.
	// Decoders apply them in that order (libheif does; libavif leaves it to us).
	Rotation, Mirror int
	BitDepth         int  // bits per luma sample (8 when the file does not say)
	Chroma           int  // 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4
	Alpha            bool // an auxiliary alpha image is attached
	Tiles            int  // coded images making up the primary image (1 unless a grid)
	// TileWidth and TileHeight are one coded image's size (the whole image's
	// unless a grid): a decoder holds one tile's working set at a time.
	TileWidth, TileHeight int
	// Exif is where the Exif item's bytes lie (a TIFF header offset first, as
	// HEIF stores it), or nil when there is none.
	Exif []Extent
}

// Extent is a byte range of the file.
type Extent struct{ Offset, Length int64 }

// UnsupportedError is a HEIF file whose primary image this package cannot describe
// (an image sequence without a still image, a codec other than HEVC and AV1).
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return "heif: unsupported: " + e.What }

// Bounds on a hostile file.
const (
	maxMetaBytes = 4 << 20 // the meta box is read whole
	maxBoxes     = 64      // top-level boxes walked before meta
	maxItems     = 4096    // items, properties, associations, references
	maxExtents   = 64      // extents of the one item that is read (Exif)
)

var errShort = &FormatError{"truncated"}

// FormatError is a HEIF structure that is damaged (as opposed to a failure of the
// reader, which is returned as itself).
type FormatError struct{ Reason string }

func (e *FormatError) Error() string { return "heif: " + e.Reason }

func formatErr(format string, a ...any) error {
	return &FormatError{Reason: fmt.Sprintf(format, a...)}
}

// IsFormatError reports whether err describes the file (damaged or unsupported)
// rather than a failure to read it.
func IsFormatError(err error) bool {
	var fe *FormatError
	var ue *UnsupportedError
	return errors.As(err, &fe) || errors.As(err, &ue)
}

// Parse reads the top-level boxes of the size bytes behind r up to the meta box,
// then the meta box whole, and describes the primary image.
func Parse(r io.ReaderAt, size int64) (Info, error) {
	m, err := readMeta(r, size)
	if err != nil {
		return Info{}, err
	}
	return m.describe()
}

func readMeta(r io.ReaderAt, size int64) (*meta, error) {
	off := int64(0)
	for range maxBoxes {
		if off == size {
			break // whole boxes, and none of them meta
		}
		typ, start, end, err := readBoxHeader(r, off, size)
		if err != nil {
			return nil, err
		}
		if typ == "meta" {
			n := end - start
			if n > maxMetaBytes {
				return nil, formatErr("meta box of %d bytes", n)
			}
			body := make([]byte, n)
			if _, err := r.ReadAt(body, start); err != nil {
				return nil, readErr(err)
			}
			return parseMeta(body, start)
		}
		off = end
	}
	return nil, &UnsupportedError{"no meta box (an image sequence without a still image?)"}
}

// readBoxHeader reads the box header at off: its type and the extent of its body.
func readBoxHeader(r io.ReaderAt, off, size int64) (typ string, start, end int64, err error) {
	var h [16]byte
	if off+8 > size {
		return "", 0, 0, errShort
	}
	n := min(int64(len(h)), size-off)
	if _, err := r.ReadAt(h[:n], off); err != nil {
		return "", 0, 0, readErr(err)
	}
	boxSize := int64(binary.BigEndian.Uint32(h[:4]))
	typ, start = string(h[4:8]), off+8
	switch boxSize {
	case 0: // to the end of the file
		boxSize = size - off
	case 1: // 64-bit size
		if n < 16 {
			return "", 0, 0, errShort
		}
		boxSize, start = int64(binary.BigEndian.Uint64(h[8:16])), off+16
	}
	if boxSize < start-off || off+boxSize > size || boxSize < 0 {
		return "", 0, 0, formatErr("box %q of %d bytes at %d in a file of %d", typ, boxSize, off, size)
	}
	return typ, start, off + boxSize, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errShort
	}
	return err
}

// IsTruncated reports whether err is a structure running past the end of the file.
func IsTruncated(err error) bool { return errors.Is(err, errShort) }

// Orientation is the EXIF orientation (1-8) that shows the stored pixels as the
// file's transformations do: irot, then imir.
func (i Info) Orientation() int {
	// Each transformation as a matrix on centred coordinates (x right, y down).
	m := [4]int{1, 0, 0, 1}
	apply := func(t [4]int) { // m = t·m
		m = [4]int{t[0]*m[0] + t[1]*m[2], t[0]*m[1] + t[1]*m[3], t[2]*m[0] + t[3]*m[2], t[2]*m[1] + t[3]*m[3]}
	}
	for range i.Rotation & 3 {
		apply([4]int{0, 1, -1, 0}) // a quarter turn anticlockwise: (x, y) → (y, −x)
	}
	switch i.Mirror {
	case 0:
		apply([4]int{-1, 0, 0, 1})
	case 1:
		apply([4]int{1, 0, 0, -1})
	}
	for o, t := range exifTransforms {
		if t == m {
			return o
		}
	}
	return 1
}

// exifTransforms are the displaying transformations of EXIF orientations 1-8.
var exifTransforms = map[int][4]int{
	1: {1, 0, 0, 1},   // as stored
	2: {-1, 0, 0, 1},  // mirrored left-right
	3: {-1, 0, 0, -1}, // turned 180°
	4: {1, 0, 0, -1},  // mirrored top-bottom
	5: {0, 1, 1, 0},   // transposed
	6: {0, -1, 1, 0},  // turned 90° clockwise
	7: {0, -1, -1, 0}, // transversed
	8: {0, 1, -1, 0},  // turned 90° anticlockwise
}

// ReadExif returns the TIFF structure of the Exif item (after the item's own
// header offset), at most max bytes of it, or nil when there is none.
func ReadExif(r io.ReaderAt, info Info, max int64) ([]byte, error) {
	if len(info.Exif) == 0 {
		return nil, nil
	}
	var total int64
	for _, e := range info.Exif {
		total += e.Length
	}
	if total > max+4 || total < 4 {
		return nil, formatErr("exif item of %d bytes", total)
	}
	data := make([]byte, 0, total)
	for _, e := range info.Exif {
		p := make([]byte, e.Length)
		if _, err := r.ReadAt(p, e.Offset); err != nil {
			return nil, readErr(err)
		}
		data = append(data, p...)
	}
	skip := int64(binary.BigEndian.Uint32(data[:4]))
	if skip > int64(len(data))-4 {
		return nil, formatErr("exif header offset %d past the item's %d bytes", skip, len(data))
	}
	return data[4+skip:], nil
}
