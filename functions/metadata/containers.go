package metadata

import (
	"encoding/binary"
)

// maxEXIF bounds the EXIF block read from a PNG or WebP chunk.
const maxEXIF = 1 << 20

// maxChunks bounds chunk walks over a hostile file.
const maxChunks = 1024

// pngEXIF returns the payload of the eXIf chunk if it precedes the image data, as the
// PNG extension requires. Missing or damaged chunks give nil: EXIF is optional.
func pngEXIF(s *source) []byte {
	off := int64(8)
	for range maxChunks {
		h, err := s.read(off, 8)
		if err != nil {
			return nil
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		switch string(h[4:8]) {
		case "eXIf":
			if n > maxEXIF {
				return nil
			}
			b, _ := s.read(off+8, n)
			return b
		case "IDAT", "IEND":
			return nil
		}
		off += 12 + n
	}
	return nil
}

// webpEXIF returns the payload of a WebP file's EXIF chunk (it usually follows the
// image data: the walk skips chunk bodies and reads only their headers).
func webpEXIF(s *source) []byte {
	off := int64(12)
	for range maxChunks {
		h, err := s.read(off, 8)
		if err != nil {
			return nil
		}
		n := int64(binary.LittleEndian.Uint32(h[4:8]))
		if string(h[:4]) == "EXIF" {
			if n > maxEXIF {
				return nil
			}
			b, _ := s.read(off+8, n)
			return b
		}
		off += 8 + n + n&1
	}
	return nil
}
