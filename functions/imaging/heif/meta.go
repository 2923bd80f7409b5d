package heif

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// reader reads big-endian fields from one box body; a read past its end sets bad
// and yields zeros, so a parser checks once at the end instead of at every field.
type reader struct {
	b   []byte
	pos int
	bad bool
}

func (r *reader) take(n int) []byte {
	if n < 0 || r.pos+n > len(r.b) {
		r.bad, r.pos = true, len(r.b)
		return make([]byte, max(n, 0))
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p
}
func (r *reader) u8() int      { return int(r.take(1)[0]) }
func (r *reader) u16() int     { return int(binary.BigEndian.Uint16(r.take(2))) }
func (r *reader) u32() int64   { return int64(binary.BigEndian.Uint32(r.take(4))) }
func (r *reader) str4() string { return string(r.take(4)) }

// uint reads an n-byte field (n is 0, 4 or 8 in iloc; 0 reads as 0).
func (r *reader) uint(n int) int64 {
	switch n {
	case 0:
		return 0
	case 4:
		return r.u32()
	case 8:
		v := binary.BigEndian.Uint64(r.take(8))
		if v > 1<<62 {
			r.bad = true
		}
		return int64(v)
	}
	r.bad = true
	return 0
}

// box is one child box: its type, its body and the body's offset in the file.
type box struct {
	typ  string
	body []byte
	at   int64
}

// children splits a container body into its boxes.
func children(b []byte, at int64) ([]box, error) {
	var out []box
	for pos := 0; pos < len(b); {
		if len(out) >= maxItems || pos+8 > len(b) {
			return nil, formatErr("box list damaged at %d", at+int64(pos))
		}
		size := int(binary.BigEndian.Uint32(b[pos:]))
		typ, hdr := string(b[pos+4:pos+8]), 8
		if size == 0 {
			size = len(b) - pos
		}
		if size == 1 {
			if pos+16 > len(b) {
				return nil, errShort
			}
			big := binary.BigEndian.Uint64(b[pos+8:])
			if big > uint64(len(b)-pos) {
				return nil, formatErr("box %q overruns its parent", typ)
			}
			size, hdr = int(big), 16
		}
		if size < hdr || size > len(b)-pos {
			return nil, formatErr("box %q of %d bytes overruns its parent", typ, size)
		}
		out = append(out, box{typ: typ, body: b[pos+hdr : pos+size], at: at + int64(pos+hdr)})
		pos += size
	}
	return out, nil
}

// item is one entry of iinf and iloc.
type item struct {
	typ     string
	method  int // iloc construction method: 0 file offsets, 1 idat offsets
	base    int64
	extents []Extent
	props   []int // 1-based indexes into ipco
}

// meta is the meta box, parsed.
type meta struct {
	primary int64
	items   map[int64]*item
	props   []box                 // ipco's children, in order
	refs    map[string][][2]int64 // reference type → (from, to) pairs
	idatAt  int64
}

// parseMeta reads the meta box body (a full box) at file offset at.
func parseMeta(body []byte, at int64) (*meta, error) {
	if len(body) < 4 {
		return nil, errShort
	}
	boxes, err := children(body[4:], at+4)
	if err != nil {
		return nil, err
	}
	m := &meta{items: map[int64]*item{}, refs: map[string][][2]int64{}, idatAt: -1, primary: -1}
	for _, b := range boxes {
		switch b.typ {
		case "hdlr":
			if len(b.body) < 12 || string(b.body[8:12]) != "pict" {
				return nil, &UnsupportedError{"meta handler is not pict"}
			}
		case "pitm":
			r := &reader{b: b.body}
			version := r.u8()
			r.take(3)
			if version == 0 {
				m.primary = int64(r.u16())
			} else {
				m.primary = r.u32()
			}
		case "iinf":
			err = m.parseIinf(b.body)
		case "iloc":
			err = m.parseIloc(b.body)
		case "iprp":
			err = m.parseIprp(b.body, b.at)
		case "iref":
			err = m.parseIref(b.body)
		case "idat":
			m.idatAt = b.at
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *meta) item(id int64) *item {
	it, ok := m.items[id]
	if !ok {
		if len(m.items) >= maxItems {
			return &item{} // further items are dropped
		}
		it = &item{}
		m.items[id] = it
	}
	return it
}

func (m *meta) parseIinf(b []byte) error {
	r := &reader{b: b}
	version := r.u8()
	r.take(3)
	if version == 0 {
		r.u16()
	} else {
		r.u32()
	}
	if r.bad {
		return errShort
	}
	entries, err := children(b[r.pos:], 0)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.typ != "infe" {
			continue
		}
		er := &reader{b: e.body}
		v := er.u8()
		er.take(3)
		if v < 2 {
			continue // versions 0 and 1 carry no item type
		}
		var id int64
		if v == 2 {
			id = int64(er.u16())
		} else {
			id = er.u32()
		}
		er.u16() // protection index
		typ := er.str4()
		if er.bad {
			return formatErr("infe entry too short")
		}
		m.item(id).typ = typ
	}
	return nil
}

func (m *meta) parseIloc(b []byte) error {
	r := &reader{b: b}
	version := r.u8()
	r.take(3)
	sizes := r.u16()
	offSize, lenSize, baseSize, idxSize := sizes>>12, sizes>>8&15, sizes>>4&15, sizes&15
	if version == 0 {
		idxSize = 0
	}
	var count int64
	if version < 2 {
		count = int64(r.u16())
	} else {
		count = r.u32()
	}
	if count > maxItems {
		return formatErr("iloc lists %d items", count)
	}
	for range count {
		var id int64
		if version < 2 {
			id = int64(r.u16())
		} else {
			id = r.u32()
		}
		method := 0
		if version >= 1 {
			method = r.u16() & 15
		}
		r.u16() // data reference index
		base := r.uint(baseSize)
		n := r.u16()
		if r.bad || n > maxItems {
			return formatErr("iloc damaged")
		}
		it := m.item(id)
		it.method, it.base, it.extents = method, base, nil
		for range n {
			r.uint(idxSize)
			off, length := r.uint(offSize), r.uint(lenSize)
			if len(it.extents) < maxExtents {
				it.extents = append(it.extents, Extent{Offset: off, Length: length})
			}
		}
	}
	if r.bad {
		return errShort
	}
	return nil
}

func (m *meta) parseIprp(b []byte, at int64) error {
	boxes, err := children(b, at)
	if err != nil {
		return err
	}
	for _, c := range boxes {
		switch c.typ {
		case "ipco":
			if m.props, err = children(c.body, c.at); err != nil {
				return err
			}
		case "ipma":
			if err := m.parseIpma(c.body); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *meta) parseIpma(b []byte) error {
	r := &reader{b: b}
	version := r.u8()
	flags := r.take(3)
	wide := flags[2]&1 == 1
	count := r.u32()
	if count > maxItems {
		return formatErr("ipma lists %d items", count)
	}
	for range count {
		var id int64
		if version < 1 {
			id = int64(r.u16())
		} else {
			id = r.u32()
		}
		n := r.u8()
		it := m.item(id)
		for range n {
			if wide {
				it.props = append(it.props, r.u16()&0x7fff)
			} else {
				it.props = append(it.props, r.u8()&0x7f)
			}
		}
		if r.bad {
			return errShort
		}
	}
	return nil
}

func (m *meta) parseIref(b []byte) error {
	r := &reader{b: b}
	version := r.u8()
	r.take(3)
	if r.bad {
		return errShort
	}
	refs, err := children(b[4:], 0)
	if err != nil {
		return err
	}
	id := func(r *reader) int64 {
		if version == 0 {
			return int64(r.u16())
		}
		return r.u32()
	}
	total := 0
	for _, ref := range refs {
		rr := &reader{b: ref.body}
		from := id(rr)
		n := rr.u16()
		for range n {
			if total++; total > maxItems {
				return formatErr("too many item references")
			}
			m.refs[ref.typ] = append(m.refs[ref.typ], [2]int64{from, id(rr)})
		}
		if rr.bad {
			return errShort
		}
	}
	return nil
}

// property returns the primary item's first associated property of type typ.
func (m *meta) property(it *item, typ string) []byte {
	for _, i := range it.props {
		if i >= 1 && i <= len(m.props) && m.props[i-1].typ == typ {
			return m.props[i-1].body
		}
	}
	return nil
}

// describe turns the parsed boxes into Info.
func (m *meta) describe() (Info, error) {
	it, ok := m.items[m.primary]
	if !ok || it.typ == "" {
		return Info{}, formatErr("primary item %d is not described", m.primary)
	}
	info := Info{Mirror: -1, BitDepth: 8, Chroma: 1, Tiles: 1}
	coded := it
	if it.typ == "grid" {
		tiles := m.refsFrom("dimg", m.primary)
		if len(tiles) == 0 {
			return Info{}, formatErr("grid without tiles")
		}
		info.Tiles = len(tiles)
		if coded = m.items[tiles[0]]; coded == nil {
			return Info{}, formatErr("grid tile %d is not described", tiles[0])
		}
		tile := m.property(coded, "ispe")
		if len(tile) < 12 {
			return Info{}, formatErr("grid tile has no size (ispe)")
		}
		info.TileWidth = int(binary.BigEndian.Uint32(tile[4:8]))
		info.TileHeight = int(binary.BigEndian.Uint32(tile[8:12]))
	}
	switch coded.typ {
	case "hvc1", "av01":
		info.Codec = coded.typ
	default:
		return Info{}, &UnsupportedError{fmt.Sprintf("primary image coded as %q", strings.TrimRight(coded.typ, "\x00 "))}
	}
	ispe := m.property(it, "ispe")
	if len(ispe) < 12 {
		return Info{}, formatErr("primary image has no size (ispe)")
	}
	info.Width = int(binary.BigEndian.Uint32(ispe[4:8]))
	info.Height = int(binary.BigEndian.Uint32(ispe[8:12]))
	if info.Tiles == 1 {
		info.TileWidth, info.TileHeight = info.Width, info.Height
	}
	if p := m.property(it, "irot"); len(p) >= 1 {
		info.Rotation = int(p[0] & 3)
	}
	if p := m.property(it, "imir"); len(p) >= 1 {
		info.Mirror = int(p[0] & 1)
	}
	m.codecConfig(coded, &info)
	if p := m.property(it, "pixi"); len(p) >= 6 && p[4] >= 1 {
		info.BitDepth = int(p[5])
	}
	for _, ref := range m.refs["auxl"] {
		if ref[1] == m.primary && m.isAlpha(ref[0]) {
			info.Alpha = true
		}
	}
	exif, err := m.exifExtents()
	if err != nil {
		return Info{}, err
	}
	info.Exif = exif
	return info, nil
}

func (m *meta) refsFrom(typ string, from int64) []int64 {
	var to []int64
	for _, ref := range m.refs[typ] {
		if ref[0] == from {
			to = append(to, ref[1])
		}
	}
	return to
}

// codecConfig reads bit depth and chroma from hvcC or av1C.
func (m *meta) codecConfig(coded *item, info *Info) {
	if p := m.property(coded, "hvcC"); len(p) >= 18 {
		info.Chroma = int(p[16] & 3)
		info.BitDepth = 8 + int(p[17]&7)
	}
	if p := m.property(coded, "av1C"); len(p) >= 3 {
		high, twelve, mono := p[2]&0x40 != 0, p[2]&0x20 != 0, p[2]&0x10 != 0
		sx, sy := p[2]&0x08 != 0, p[2]&0x04 != 0
		switch {
		case high && twelve:
			info.BitDepth = 12
		case high:
			info.BitDepth = 10
		}
		switch {
		case mono:
			info.Chroma = 0
		case sx && sy:
			info.Chroma = 1
		case sx:
			info.Chroma = 2
		default:
			info.Chroma = 3
		}
	}
}

// isAlpha reports whether item id is an alpha plane (its auxC type says so).
func (m *meta) isAlpha(id int64) bool {
	it, ok := m.items[id]
	if !ok {
		return false
	}
	p := string(m.property(it, "auxC"))
	return strings.Contains(p, "auxiliary:alpha") || strings.Contains(p, "hevc:2015:auxid:1")
}

// exifExtents finds the Exif item (preferring one that describes the primary image)
// and returns its extents as file ranges.
func (m *meta) exifExtents() ([]Extent, error) {
	var id int64 = -1
	for _, ref := range m.refs["cdsc"] {
		if ref[1] == m.primary {
			if it := m.items[ref[0]]; it != nil && it.typ == "Exif" {
				id = ref[0]
			}
		}
	}
	if id < 0 {
		for i, it := range m.items {
			if it.typ == "Exif" && (id < 0 || i < id) {
				id = i
			}
		}
	}
	if id < 0 {
		return nil, nil
	}
	it := m.items[id]
	var out []Extent
	for _, e := range it.extents {
		off := it.base + e.Offset
		switch it.method {
		case 0:
		case 1:
			if m.idatAt < 0 {
				return nil, nil
			}
			off += m.idatAt
		default:
			return nil, nil // item-offset construction: not used for Exif in practice
		}
		if e.Length <= 0 || off < 0 {
			return nil, nil
		}
		out = append(out, Extent{Offset: off, Length: e.Length})
	}
	return out, nil
}
