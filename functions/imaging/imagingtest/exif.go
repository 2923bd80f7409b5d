// Package imagingtest builds test fixtures in code for the image packages' tests:
// EXIF blocks, JPEGs carrying them, photo-like images, and an in-memory S3.
package imagingtest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"sort"
)

// TIFF field types.
const (
	TypeASCII    = 2
	TypeShort    = 3
	TypeLong     = 4
	TypeRational = 5
)

// Entry is one IFD entry; Data is its value already encoded in the block's byte order.
type Entry struct {
	Tag   uint16
	Type  uint16
	Count uint32
	Data  []byte
}

// IFD is a list of entries; BuildTIFF sorts them by tag.
type IFD []Entry

// ASCII makes a NUL-terminated text entry.
func ASCII(tag uint16, s string) Entry {
	return Entry{Tag: tag, Type: TypeASCII, Count: uint32(len(s) + 1), Data: append([]byte(s), 0)}
}

// Short makes a one-value SHORT entry.
func Short(o binary.AppendByteOrder, tag uint16, v uint16) Entry {
	return Entry{Tag: tag, Type: TypeShort, Count: 1, Data: o.AppendUint16(nil, v)}
}

// Rationals makes a RATIONAL entry from numerator/denominator pairs.
func Rationals(o binary.AppendByteOrder, tag uint16, pairs ...uint32) Entry {
	var b []byte
	for _, v := range pairs {
		b = o.AppendUint32(b, v)
	}
	return Entry{Tag: tag, Type: TypeRational, Count: uint32(len(pairs) / 2), Data: b}
}

// BuildTIFF lays out a TIFF structure: header, IFD0 (given pointer entries to the
// Exif and GPS IFDs when those are non-empty), then the sub-IFDs, each followed by
// its out-of-line values.
func BuildTIFF(o binary.AppendByteOrder, ifd0, exifIFD, gpsIFD IFD) []byte {
	size := func(d IFD) int {
		if len(d) == 0 {
			return 0
		}
		n := 2 + 12*len(d) + 4
		for _, e := range d {
			if len(e.Data) > 4 {
				n += len(e.Data) + len(e.Data)%2
			}
		}
		return n
	}
	ifd0 = append(IFD(nil), ifd0...)
	if len(exifIFD) > 0 {
		ifd0 = append(ifd0, Entry{Tag: 0x8769, Type: TypeLong, Count: 1, Data: make([]byte, 4)})
	}
	if len(gpsIFD) > 0 {
		ifd0 = append(ifd0, Entry{Tag: 0x8825, Type: TypeLong, Count: 1, Data: make([]byte, 4)})
	}
	exifAt := 8 + size(ifd0)
	gpsAt := exifAt + size(exifIFD)
	for i := range ifd0 {
		switch ifd0[i].Tag {
		case 0x8769:
			ifd0[i].Data = o.AppendUint32(nil, uint32(exifAt))
		case 0x8825:
			ifd0[i].Data = o.AppendUint32(nil, uint32(gpsAt))
		}
	}
	var b []byte
	if o == binary.AppendByteOrder(binary.BigEndian) {
		b = []byte("MM\x00*")
	} else {
		b = []byte("II*\x00")
	}
	b = o.AppendUint32(b, 8)
	for _, d := range []IFD{ifd0, exifIFD, gpsIFD} {
		if len(d) == 0 {
			continue
		}
		d = append(IFD(nil), d...)
		sort.Slice(d, func(i, j int) bool { return d[i].Tag < d[j].Tag })
		start := len(b)
		data := start + 2 + 12*len(d) + 4
		b = o.AppendUint16(b, uint16(len(d)))
		var tail []byte
		for _, e := range d {
			b = o.AppendUint16(b, e.Tag)
			b = o.AppendUint16(b, e.Type)
			b = o.AppendUint32(b, e.Count)
			if len(e.Data) <= 4 {
				v := make([]byte, 4)
				copy(v, e.Data)
				b = append(b, v...)
				continue
			}
			b = o.AppendUint32(b, uint32(data+len(tail)))
			tail = append(tail, e.Data...)
			if len(e.Data)%2 == 1 {
				tail = append(tail, 0)
			}
		}
		b = o.AppendUint32(b, 0) // no next IFD
		b = append(b, tail...)
	}
	return b
}

// EXIF describes an EXIF block to build; zero fields are left out.
type EXIF struct {
	Order              binary.AppendByteOrder // default little-endian
	Make, Model        string
	Orientation        int
	DateTimeOriginal   string // "2006:01:02 15:04:05"
	OffsetTimeOriginal string // "+02:00"
	GPS                bool
	Lat, Lon           float64 // signed decimal degrees
}

// TIFF encodes e as the TIFF structure an Exif APP1 segment carries.
func (e EXIF) TIFF() []byte {
	o := e.Order
	if o == nil {
		o = binary.LittleEndian
	}
	var ifd0, sub, gps IFD
	if e.Make != "" {
		ifd0 = append(ifd0, ASCII(0x010F, e.Make))
	}
	if e.Model != "" {
		ifd0 = append(ifd0, ASCII(0x0110, e.Model))
	}
	if e.Orientation != 0 {
		ifd0 = append(ifd0, Short(o, 0x0112, uint16(e.Orientation)))
	}
	if e.DateTimeOriginal != "" {
		sub = append(sub, ASCII(0x9003, e.DateTimeOriginal))
	}
	if e.OffsetTimeOriginal != "" {
		sub = append(sub, ASCII(0x9011, e.OffsetTimeOriginal))
	}
	if e.GPS {
		latRef, lonRef := "N", "E"
		if e.Lat < 0 {
			latRef = "S"
		}
		if e.Lon < 0 {
			lonRef = "W"
		}
		gps = IFD{
			{Tag: 0x0000, Type: 1, Count: 4, Data: []byte{2, 3, 0, 0}},
			ASCII(0x0001, latRef), Rationals(o, 0x0002, dms(e.Lat)...),
			ASCII(0x0003, lonRef), Rationals(o, 0x0004, dms(e.Lon)...),
		}
	}
	return BuildTIFF(o, ifd0, sub, gps)
}

// dms splits |v| into degrees, minutes and seconds (in thousandths) rationals.
func dms(v float64) []uint32 {
	v = math.Abs(v)
	d := math.Floor(v)
	m := math.Floor((v - d) * 60)
	s := math.Round(((v-d)*60 - m) * 60 * 1000)
	return []uint32{uint32(d), 1, uint32(m), 1, uint32(s), 1000}
}

// WithEXIF inserts tiff as an Exif APP1 segment right after a JPEG's SOI.
func WithEXIF(jpg, tiff []byte) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+6+len(tiff)))
	seg = append(seg, "Exif\x00\x00"...)
	seg = append(seg, tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// JPEG encodes m at quality q.
func JPEG(m image.Image, q int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		panic(err) // fixtures are well-formed
	}
	return buf.Bytes()
}
