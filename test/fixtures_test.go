package test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"
)

// photo draws a w×h test image: a gradient with a red block in the top-left corner, so
// that orientation can be checked on the thumbnail.
func photo(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128 + seed, 255}
			if x < w/4 && y < h/4 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

type exifFacts struct {
	Make, Model, DateTimeOriginal string
	Orientation                   uint16
	Lat, Lon                      float64 // signed degrees; both zero means no GPS
}

// jpegWithEXIF encodes img as JPEG with an APP1 EXIF block holding facts.
func jpegWithEXIF(t *testing.T, img image.Image, f exifFacts) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	app1 := append([]byte("Exif\x00\x00"), tiffBlock(f)...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(app1)+2))
	out := append([]byte{}, raw[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, app1...)
	return append(out, raw[2:]...)
}

// tiffBlock writes a little-endian TIFF structure: IFD0 (Make, Model, Orientation,
// ExifIFD and GPS pointers), the Exif IFD (DateTimeOriginal) and the GPS IFD.
func tiffBlock(f exifFacts) []byte {
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte // value bytes; placed inline when ≤ 4 bytes
	}
	le := binary.LittleEndian
	u16 := func(v uint16) []byte { b := make([]byte, 2); le.PutUint16(b, v); return b }
	u32 := func(v uint32) []byte { b := make([]byte, 4); le.PutUint32(b, v); return b }
	ascii := func(s string) entry { return entry{0, 2, uint32(len(s) + 1), append([]byte(s), 0)} }
	rationals := func(vals ...[2]uint32) []byte {
		var b []byte
		for _, v := range vals {
			b = append(b, u32(v[0])...)
			b = append(b, u32(v[1])...)
		}
		return b
	}
	dms := func(deg float64) []byte {
		deg = math.Abs(deg)
		d := math.Floor(deg)
		m := math.Floor((deg - d) * 60)
		s := ((deg-d)*60 - m) * 60
		return rationals([2]uint32{uint32(d), 1}, [2]uint32{uint32(m), 1}, [2]uint32{uint32(math.Round(s * 1000)), 1000})
	}
	var out []byte
	out = append(out, 'I', 'I')
	out = append(out, u16(42)...)
	out = append(out, u32(8)...)
	// writeIFD lays out entries at offset base, with value data after the IFD.
	writeIFD := func(base int, entries []entry) []byte {
		n := len(entries)
		dataOff := base + 2 + n*12 + 4
		var ifd, data []byte
		ifd = append(ifd, u16(uint16(n))...)
		for _, e := range entries {
			ifd = append(ifd, u16(e.tag)...)
			ifd = append(ifd, u16(e.typ)...)
			ifd = append(ifd, u32(e.count)...)
			if len(e.data) <= 4 {
				v := append(append([]byte{}, e.data...), make([]byte, 4-len(e.data))...)
				ifd = append(ifd, v...)
			} else {
				ifd = append(ifd, u32(uint32(dataOff+len(data)))...)
				data = append(data, e.data...)
				if len(data)%2 == 1 {
					data = append(data, 0)
				}
			}
		}
		ifd = append(ifd, u32(0)...)
		return append(ifd, data...)
	}
	withTag := func(tag uint16, e entry) entry { e.tag = tag; return e }
	// Sizes are computed by laying out IFD0 once with placeholder pointers.
	ifd0 := func(exifOff, gpsOff uint32) []entry {
		es := []entry{}
		if f.Make != "" {
			es = append(es, withTag(0x010F, ascii(f.Make)))
		}
		if f.Model != "" {
			es = append(es, withTag(0x0110, ascii(f.Model)))
		}
		if f.Orientation != 0 {
			es = append(es, entry{0x0112, 3, 1, u16(f.Orientation)})
		}
		es = append(es, entry{0x8769, 4, 1, u32(exifOff)})
		if f.Lat != 0 || f.Lon != 0 {
			es = append(es, entry{0x8825, 4, 1, u32(gpsOff)})
		}
		return es
	}
	first := writeIFD(8, ifd0(0, 0))
	exifOff := 8 + len(first)
	exifIFD := writeIFD(exifOff, []entry{withTag(0x9003, ascii(f.DateTimeOriginal))})
	gpsOff := exifOff + len(exifIFD)
	latRef, lonRef := "N", "E"
	if f.Lat < 0 {
		latRef = "S"
	}
	if f.Lon < 0 {
		lonRef = "W"
	}
	gps := writeIFD(gpsOff, []entry{
		{0x0000, 1, 4, []byte{2, 3, 0, 0}},
		withTag(0x0001, ascii(latRef)),
		{0x0002, 5, 3, dms(f.Lat)},
		withTag(0x0003, ascii(lonRef)),
		{0x0004, 5, 3, dms(f.Lon)},
	})
	out = append(out, writeIFD(8, ifd0(uint32(exifOff), uint32(gpsOff)))...)
	out = append(out, exifIFD...)
	if f.Lat != 0 || f.Lon != 0 {
		out = append(out, gps...)
	}
	return out
}

// orientedRedCorner reports which corner of a decoded thumbnail is red:
// "top-left", "top-right", "bottom-left" or "bottom-right".
func orientedRedCorner(img image.Image) string {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	red := func(x, y int) bool {
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return r>>8 > 180 && g>>8 < 90 && bl>>8 < 90
	}
	dx, dy := w/10, h/10
	switch {
	case red(dx, dy):
		return "top-left"
	case red(w-1-dx, dy):
		return "top-right"
	case red(dx, h-1-dy):
		return "bottom-left"
	case red(w-1-dx, h-1-dy):
		return "bottom-right"
	}
	return "none"
}
