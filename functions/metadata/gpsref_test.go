package metadata_test

import (
	"bytes"
	"encoding/binary"
)

// refGPS is an independent, minimal reading of the GPS IFD of a JPEG's Exif APP1
// segment (no goexif), used to check what Extract reports on the corpus.
func refGPS(jpg []byte) (lat, lon float64, ok bool) {
	i := bytes.Index(jpg, []byte("Exif\x00\x00"))
	if i < 0 {
		return 0, 0, false
	}
	t := jpg[i+6:]
	var o binary.ByteOrder = binary.LittleEndian
	if t[0] == 'M' {
		o = binary.BigEndian
	}
	entries := func(off uint32) map[uint16][]byte { // tag → 12-byte entry
		m := map[uint16][]byte{}
		n := int(o.Uint16(t[off:]))
		for k := range n {
			e := t[int(off)+2+12*k:][:12]
			m[o.Uint16(e)] = e
		}
		return m
	}
	ifd0 := entries(o.Uint32(t[4:]))
	p, found := ifd0[0x8825]
	if !found {
		return 0, 0, false
	}
	gps := entries(o.Uint32(p[8:]))
	coord := func(valTag, refTag uint16, neg byte) float64 {
		e := gps[valTag]
		off := o.Uint32(e[8:])
		var v float64
		for k, div := range []float64{1, 60, 3600} {
			r := t[int(off)+8*k:]
			v += float64(o.Uint32(r)) / float64(o.Uint32(r[4:])) / div
		}
		if gps[refTag][8] == neg {
			v = -v
		}
		return v
	}
	if gps[2] == nil || gps[4] == nil || gps[1] == nil || gps[3] == nil {
		return 0, 0, false
	}
	return coord(2, 1, 'S'), coord(4, 3, 'W'), true
}
