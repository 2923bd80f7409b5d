package imagingtest

import (
	"bytes"
	"encoding/binary"
)

// HEIFSpec describes a HEIF file to lay out. Its coded data is not a real picture
// (no encoder is at hand): it serves the container readers and the checks made
// before any pixel is decoded.
type HEIFSpec struct {
	Brand         string // ftyp major brand; "heic" when empty
	Codec         string // "hvc1" (default) or "av01"
	Width, Height int    // the primary image's ispe
	// Cols and Rows make the primary image a grid of Cols×Rows tiles of
	// TileWidth×TileHeight; zero for a single coded image.
	Cols, Rows            int
	TileWidth, TileHeight int
	Rotation              int    // irot quarter turns; -1 for no irot
	Mirror                int    // imir axis; -1 for no imir
	EXIF                  []byte // TIFF structure for an Exif item; nil for none
	// SPSWidth and SPSHeight are the picture size the HEVC parameter set declares
	// (zero: the tile's size).
	SPSWidth, SPSHeight int
	// CodedBytes pads each coded image's data to this many bytes, so that the
	// Exif item, stored last, lies far into the file.
	CodedBytes int
}

// heifItem is one item of the file: its id, type and data (stored in mdat).
type heifItem struct {
	id   int
	typ  string
	data []byte
}

func box(typ string, parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append(append(binary.BigEndian.AppendUint32(nil, uint32(8+len(body))), typ...), body...)
}

func full(version byte) []byte { return []byte{version, 0, 0, 0} }
func u16(v int) []byte         { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
func u32(v int) []byte         { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// HEIF lays out s: ftyp, meta (hdlr, pitm, iinf, iloc, iprp, iref), and mdat with
// the Exif item and each coded image's data (a few bytes of a slice NAL unit).
func HEIF(s HEIFSpec) []byte {
	if s.Brand == "" {
		s.Brand = "heic"
	}
	if s.Codec == "" {
		s.Codec = "hvc1"
	}
	items, codedIDs, exifID := heifItems(s)
	props, ipma := heifProperties(s, codedIDs)

	var infe [][]byte
	for _, it := range items {
		infe = append(infe, box("infe", full(2), u16(it.id), u16(0), []byte(it.typ), []byte{0}))
	}
	var iref []byte
	if s.Cols > 0 {
		refs := append(u16(1), u16(len(codedIDs))...)
		for _, id := range codedIDs {
			refs = append(refs, u16(id)...)
		}
		iref = append(iref, box("dimg", refs)...)
	}
	if exifID > 0 {
		iref = append(iref, box("cdsc", u16(exifID), u16(1), u16(1))...)
	}
	ftyp := box("ftyp", []byte(s.Brand), u32(0), []byte("mif1"+s.Brand))
	meta := func(dataAt int) []byte {
		parts := [][]byte{
			full(0),
			box("hdlr", full(0), u32(0), []byte("pict"), make([]byte, 12), []byte{0}),
			box("pitm", full(0), u16(1)),
			box("iinf", full(0), u16(len(items)), bytes.Join(infe, nil)),
			box("iloc", heifILoc(items, dataAt)),
			box("iprp", box("ipco", props...), box("ipma", ipma)),
		}
		if len(iref) > 0 {
			parts = append(parts, box("iref", full(0), iref))
		}
		return box("meta", parts...)
	}
	dataAt := len(ftyp) + len(meta(0)) + 8
	var mdat []byte
	for _, it := range items {
		mdat = append(mdat, it.data...)
	}
	return bytes.Join([][]byte{ftyp, meta(dataAt), box("mdat", mdat)}, nil)
}

// heifItems: 1 the primary (a grid or the coded image), 2.. the tiles, then Exif.
func heifItems(s HEIFSpec) (items []heifItem, codedIDs []int, exifID int) {
	coded := []byte{0, 0, 0, 4, 0x26, 0x01, 0xAF, 0x00} // a 4-byte IDR slice NAL unit, cut short
	if s.CodedBytes > len(coded) {
		coded = append(coded, make([]byte, s.CodedBytes-len(coded))...)
	}
	codedIDs = []int{1}
	if s.Cols > 0 {
		desc := []byte{0, 0, byte(s.Rows - 1), byte(s.Cols - 1)}
		desc = append(append(desc, u16(s.Width)...), u16(s.Height)...)
		items = append(items, heifItem{1, "grid", desc})
		codedIDs = nil
		for i := range s.Cols * s.Rows {
			items = append(items, heifItem{2 + i, s.Codec, coded})
			codedIDs = append(codedIDs, 2+i)
		}
	} else {
		items = append(items, heifItem{1, s.Codec, coded})
	}
	if s.EXIF != nil {
		exifID = len(items) + 1
		exif := append(u32(6), "Exif\x00\x00"...)
		items = append(items, heifItem{exifID, "Exif", append(exif, s.EXIF...)})
	}
	return items, codedIDs, exifID
}

// heifProperties: 1 the codec configuration, 2 the tile's ispe, 3 the primary's ispe,
// then irot and imir when present; and ipma, which associates them with the items.
func heifProperties(s HEIFSpec, codedIDs []int) (props [][]byte, ipma []byte) {
	tw, th := s.Width, s.Height
	if s.Cols > 0 {
		tw, th = s.TileWidth, s.TileHeight
	}
	sw, sh := s.SPSWidth, s.SPSHeight
	if sw == 0 {
		sw, sh = tw, th
	}
	var config []byte
	if s.Codec == "av01" {
		config = box("av1C", []byte{0x81, 0x08, 0x0C, 0x00}) // 8-bit 4:2:0
	} else {
		config = box("hvcC", hvcC(sw, sh))
	}
	props = [][]byte{config, box("ispe", full(0), u32(tw), u32(th)), box("ispe", full(0), u32(s.Width), u32(s.Height))}
	primaryProps := []byte{0x83}
	if s.Cols == 0 {
		primaryProps = []byte{0x81, 0x83}
	}
	if s.Rotation >= 0 {
		props = append(props, box("irot", []byte{byte(s.Rotation)}))
		primaryProps = append(primaryProps, byte(0x80|len(props)))
	}
	if s.Mirror >= 0 {
		props = append(props, box("imir", []byte{byte(s.Mirror)}))
		primaryProps = append(primaryProps, byte(0x80|len(props)))
	}
	ipma = append(full(0), u32(1+len(codedIDs)*boolInt(s.Cols > 0))...)
	ipma = append(append(append(ipma, u16(1)...), byte(len(primaryProps))), primaryProps...)
	if s.Cols > 0 {
		for _, id := range codedIDs {
			ipma = append(append(ipma, u16(id)...), 2, 0x81, 0x02)
		}
	}
	return props, ipma
}

// heifILoc places each item's data one after another from dataAt.
func heifILoc(items []heifItem, dataAt int) []byte {
	iloc := append(full(0), u16(0x4400)...)
	iloc = append(iloc, u16(len(items))...)
	at := dataAt
	for _, it := range items {
		iloc = append(iloc, u16(it.id)...)
		iloc = append(iloc, u16(0)...) // data reference
		iloc = append(iloc, u16(1)...) // one extent
		iloc = append(append(iloc, u32(at)...), u32(len(it.data))...)
		at += len(it.data)
	}
	return iloc
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hvcC is an HEVC decoder configuration record (8-bit 4:2:0, 4-byte NAL lengths)
// holding one SPS that declares a w×h picture.
func hvcC(w, h int) []byte {
	rec := []byte{1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5A, 0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F}
	sps := append([]byte{0x42, 0x01}, emulationPrevent(spsRBSP(w, h))...)
	rec = append(rec, 1, 0x80|33)
	rec = binary.BigEndian.AppendUint16(rec, 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	return append(rec, sps...)
}

// spsRBSP writes an SPS payload up to the picture size, then stop bits.
func spsRBSP(w, h int) []byte {
	var bits []bool
	put := func(v, n int) {
		for i := n - 1; i >= 0; i-- {
			bits = append(bits, v>>i&1 == 1)
		}
	}
	ue := func(v int) {
		v++
		n := 0
		for 1<<(n+1) <= v {
			n++
		}
		put(0, n)
		put(v, n+1)
	}
	put(0, 4) // vps id
	put(0, 3) // one sub-layer
	put(1, 1) // temporal id nesting
	put(1, 8) // profile space 0, tier 0, profile 1 (Main)
	put(0x60000000, 32)
	put(0, 48) // constraint flags
	put(90, 8) // level 3
	ue(0)      // sps id
	ue(1)      // chroma 4:2:0
	ue(w)
	ue(h)
	put(1, 1) // stop bit
	out := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		if b {
			out[i/8] |= 0x80 >> (i % 8)
		}
	}
	return out
}

func emulationPrevent(rbsp []byte) []byte {
	var out []byte
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
