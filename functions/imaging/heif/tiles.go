package heif

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Layout is a HEVC-coded primary image as the independently coded tiles it is made
// of: a grid's tiles in raster order, or the one coded image. A decoder that takes
// the tiles one at a time holds one tile's pixels, not the whole image's, which is
// what keeps a 48 MP phone photo inside a Lambda's memory.
type Layout struct {
	Width, Height         int // the image: a grid's output size, cropped from the tiles
	Rows, Cols            int
	TileWidth, TileHeight int
	tiles                 [][]Extent // each tile's coded bytes
	hvcC                  [][]byte   // each tile's decoder configuration (hvcC body)
}

// maxTiles bounds a grid (a 48 MP photo in 512×512 tiles has 192).
const maxTiles = 4096

// Tiles reads the layout of the HEVC-coded primary image of data.
func Tiles(data []byte) (*Layout, error) {
	r := bytes.NewReader(data)
	m, err := readMeta(r, int64(len(data)))
	if err != nil {
		return nil, err
	}
	info, err := m.describe()
	if err != nil {
		return nil, err
	}
	if info.Codec != "hvc1" {
		return nil, &UnsupportedError{"tiles of " + info.Codec}
	}
	l := &Layout{Width: info.Width, Height: info.Height, Rows: 1, Cols: 1}
	ids := []int64{m.primary}
	if it := m.items[m.primary]; it.typ == "grid" {
		desc, err := m.itemData(data, it, 16)
		if err != nil {
			return nil, err
		}
		if len(desc) < 8 {
			return nil, formatErr("grid descriptor of %d bytes", len(desc))
		}
		l.Rows, l.Cols = int(desc[2])+1, int(desc[3])+1
		ids = m.refsFrom("dimg", m.primary)
		if len(ids) != l.Rows*l.Cols || len(ids) > maxTiles {
			return nil, formatErr("grid of %d×%d with %d tiles", l.Cols, l.Rows, len(ids))
		}
	}
	for _, id := range ids {
		it := m.items[id]
		if it == nil || it.typ != "hvc1" {
			return nil, formatErr("tile %d is not an HEVC image", id)
		}
		ispe, hvcC := m.property(it, "ispe"), m.property(it, "hvcC")
		if len(ispe) < 12 || len(hvcC) < 23 {
			return nil, formatErr("tile %d lacks its size or decoder configuration", id)
		}
		w, h := int(binary.BigEndian.Uint32(ispe[4:8])), int(binary.BigEndian.Uint32(ispe[8:12]))
		if l.TileWidth == 0 {
			l.TileWidth, l.TileHeight = w, h
		} else if w != l.TileWidth || h != l.TileHeight {
			return nil, formatErr("tiles of different sizes (%dx%d and %dx%d)", l.TileWidth, l.TileHeight, w, h)
		}
		ext, err := m.fileExtents(it)
		if err != nil {
			return nil, err
		}
		l.tiles = append(l.tiles, ext)
		l.hvcC = append(l.hvcC, hvcC)
	}
	if l.Cols*l.TileWidth < l.Width || l.Rows*l.TileHeight < l.Height {
		return nil, formatErr("%d×%d tiles of %dx%d do not cover %dx%d", l.Cols, l.Rows, l.TileWidth, l.TileHeight, l.Width, l.Height)
	}
	return l, nil
}

// Tile is tile i (raster order) as a standalone HEIC holding just that coded image:
// no transformations, no metadata, so a HEIF decoder returns its pixels as stored.
// Its decoder configuration and coded data are checked for a picture size other
// than the tile's (a decoder would allocate for what the stream says).
func (l *Layout) Tile(data []byte, i int) ([]byte, error) {
	var coded []byte
	for _, e := range l.tiles[i] {
		if e.Offset+e.Length > int64(len(data)) {
			return nil, errShort
		}
		coded = append(coded, data[e.Offset:e.Offset+e.Length]...)
	}
	if err := checkPictureSize(l.hvcC[i], coded, l.TileWidth, l.TileHeight); err != nil {
		return nil, err
	}
	return singleItemHEIC(l.hvcC[i], l.TileWidth, l.TileHeight, coded), nil
}

// Len is the number of tiles.
func (l *Layout) Len() int { return len(l.tiles) }

// fileExtents is an item's data as file ranges.
func (m *meta) fileExtents(it *item) ([]Extent, error) {
	var out []Extent
	for _, e := range it.extents {
		off := it.base + e.Offset
		switch it.method {
		case 0:
		case 1:
			if m.idatAt < 0 {
				return nil, formatErr("item in idat, but no idat")
			}
			off += m.idatAt
		default:
			return nil, &UnsupportedError{fmt.Sprintf("item construction method %d", it.method)}
		}
		if e.Length <= 0 || off < 0 {
			return nil, formatErr("item extent %d+%d", off, e.Length)
		}
		out = append(out, Extent{Offset: off, Length: e.Length})
	}
	if len(out) == 0 {
		return nil, formatErr("item has no data")
	}
	return out, nil
}

// itemData reads an item's bytes (at most max) from data.
func (m *meta) itemData(data []byte, it *item, max int64) ([]byte, error) {
	ext, err := m.fileExtents(it)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, e := range ext {
		if e.Offset+e.Length > int64(len(data)) || int64(len(out))+e.Length > max {
			return nil, formatErr("item data of %d bytes at %d", e.Length, e.Offset)
		}
		out = append(out, data[e.Offset:e.Offset+e.Length]...)
	}
	return out, nil
}

// singleItemHEIC lays out ftyp, a meta box describing one hvc1 item with its hvcC
// and ispe, and an mdat holding its coded data.
func singleItemHEIC(hvcC []byte, w, h int, coded []byte) []byte {
	be := binary.BigEndian
	box := func(typ string, parts ...[]byte) []byte {
		body := bytes.Join(parts, nil)
		b := be.AppendUint32(nil, uint32(8+len(body)))
		return append(append(b, typ...), body...)
	}
	full := []byte{0, 0, 0, 0} // version 0, no flags
	u16 := func(v int) []byte { return be.AppendUint16(nil, uint16(v)) }
	u32 := func(v int) []byte { return be.AppendUint32(nil, uint32(v)) }
	ftyp := box("ftyp", []byte("heic"), u32(0), []byte("mif1heic"))
	iloc := func(at int) []byte {
		// offsets and lengths of 4 bytes, no base offset; one item, one extent.
		return box("iloc", full, u16(0x4400), u16(1), u16(1), u16(0), u16(1), u32(at), u32(len(coded)))
	}
	metaBox := func(at int) []byte {
		return box("meta", full,
			box("hdlr", full, u32(0), []byte("pict"), make([]byte, 12), []byte{0}),
			box("pitm", full, u16(1)),
			box("iinf", full, u16(1), box("infe", []byte{2, 0, 0, 0}, u16(1), u16(0), []byte("hvc1"), []byte{0})),
			iloc(at),
			box("iprp",
				box("ipco", box("hvcC", hvcC), box("ispe", full, u32(w), u32(h))),
				box("ipma", full, u32(1), u16(1), []byte{2, 0x81, 0x02})),
		)
	}
	// The meta box's size does not depend on the offset it holds: lay it out once
	// to learn where mdat's data starts.
	at := len(ftyp) + len(metaBox(0)) + 8
	return bytes.Join([][]byte{ftyp, metaBox(at), box("mdat", coded)}, nil)
}
