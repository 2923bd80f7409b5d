package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// jpegInfo is what the JPEG marker segments before the first scan tell.
type jpegInfo struct {
	width, height int
	components    []byte // component ids from the frame header
	adobe         bool   // an Adobe APP14 segment is present
	transform     byte   // its colour transform: 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK
	exif          []byte // the TIFF structure of the first Exif APP1 segment
}

// maxSegments bounds the marker walk over a hostile file.
const maxSegments = 4096

// scanJPEG walks the marker segments from SOI to the frame header, reading only each
// segment's header and the few segments it needs (APP1 Exif, APP14 Adobe, SOFn).
func scanJPEG(s *source) (jpegInfo, error) {
	var info jpegInfo
	off := int64(2) // after SOI
	for range maxSegments {
		hdr, err := s.read(off, 2)
		if err != nil {
			return info, err
		}
		if hdr[0] != 0xFF {
			return info, fmt.Errorf("expected a marker at offset %d, found 0x%02x", off, hdr[0])
		}
		m := hdr[1]
		switch {
		case m == 0xFF: // fill byte
			off++
			continue
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7): // standalone markers
			off += 2
			continue
		case m == 0xD9 || m == 0xDA:
			return info, errors.New("no frame header before the image data")
		}
		lb, err := s.read(off+2, 2)
		if err != nil {
			return info, err
		}
		length := int64(binary.BigEndian.Uint16(lb))
		if length < 2 {
			return info, fmt.Errorf("segment 0x%02x at offset %d has length %d", m, off, length)
		}
		body := off + 4
		n := length - 2
		switch {
		case m == 0xE1 && info.exif == nil && n > 6:
			sig, err := s.read(body, 6)
			if err != nil {
				return info, err
			}
			if string(sig) == "Exif\x00\x00" {
				if info.exif, err = s.read(body+6, n-6); err != nil {
					return info, err
				}
			}
		case m == 0xEE && n >= 12:
			b, err := s.read(body, 12)
			if err != nil {
				return info, err
			}
			if string(b[:5]) == "Adobe" {
				info.adobe, info.transform = true, b[11]
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			b, err := s.read(body, n)
			if err != nil {
				return info, err
			}
			if len(b) < 6 {
				return info, errors.New("short frame header")
			}
			info.height = int(binary.BigEndian.Uint16(b[1:3]))
			info.width = int(binary.BigEndian.Uint16(b[3:5]))
			nc := int(b[5])
			if len(b) < 6+3*nc {
				return info, errors.New("short frame header")
			}
			for i := range nc {
				info.components = append(info.components, b[6+3*i])
			}
			// The Exif and Adobe segments precede the frame header; stop here.
			return info, nil
		}
		off = body + n
	}
	return info, errors.New("too many marker segments")
}

// colorSpace names the JPEG's colour space as decoders interpret it: the number of
// components, refined by the Adobe transform flag and RGB component ids.
func (j jpegInfo) colorSpace() string {
	switch len(j.components) {
	case 1:
		return "Gray"
	case 3:
		if (j.adobe && j.transform == 0) || string(j.components) == "RGB" {
			return "RGB"
		}
		return "YCbCr"
	case 4:
		if j.adobe && j.transform == 2 {
			return "YCCK"
		}
		return "CMYK"
	}
	return ""
}
