package jpegscale

// lutBits is the lookahead width: codes (and, for the fast table, code plus value
// bits) up to this length resolve with one table load.
const lutBits = 10

// huffTable is a canonical Huffman table prepared for decoding.
//
// fast[peek] packs the bits consumed (0-4), a flag for "code only, value bits not
// included" (5), the symbol (8-15: run<<4 | size) and, when the code plus its value
// bits fit in lutBits, the sign-extended value (16-31). Zero means "slow path".
type huffTable struct {
	fast [1 << lutBits]int32
	// skip[peek] packs, for any code of at most lutBits, the bits it and its value
	// take (0-4) and how far it moves the coefficient index (5-9; 0 for EOB):
	// all a decoder needs for coefficients it throws away.
	skip [1 << lutBits]uint16
	// run[peek] packs, for the whole codes (with their values) that fit in the
	// lookahead one after another, the bits they take (0-4), how far they move the
	// coefficient index together (5-12) and whether the last is an EOB (13): skipped
	// coefficients then cost one table load per two or three codes, not one each.
	run     [1 << lutBits]uint16
	maxcode [17]int32 // largest code of each length; -1 when none
	valptr  [17]int32 // index in vals of the first code of each length minus that code
	vals    [256]uint8
	valid   bool
}

func (t *huffTable) build(counts [16]int, vals []byte) error {
	*t = huffTable{}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			t.valptr[l] = k - code
			code += n
			k += n
			t.maxcode[l] = code - 1
			// Codes of length l must fit in l bits (all-ones is reserved, but
			// encoders in the wild sometimes use it; accept it).
			if code > 1<<l {
				return formatErr("Huffman table over-subscribed")
			}
		}
		code <<= 1
	}
	// Fill the lookahead table.
	code, k = 0, 0
	for l := 1; l <= lutBits; l++ {
		for range counts[l-1] {
			sym := t.vals[k]
			size := int32(sym & 15)
			shift := uint(lutBits - l)
			base := code << shift
			adv := uint16(sym>>4) + 1
			if size == 0 && sym>>4 != 15 {
				adv = 0 // EOB (or an EOB run, which sequential scans do not use)
			} else if size == 0 {
				adv = 16
			}
			for fill := int32(0); fill < 1<<shift; fill++ {
				peek := base | fill
				total := int32(l) + size
				t.skip[peek] = uint16(total) | adv<<5
				if total > lutBits {
					t.fast[peek] = int32(l) | codeOnly | int32(sym)<<8
					continue
				}
				var v int32
				if size > 0 {
					v = (peek >> (lutBits - total)) & (1<<size - 1)
					v = extend(v, size)
				}
				t.fast[peek] = total | int32(sym)<<8 | v<<16
			}
			code++
			k++
		}
		code <<= 1
	}
	for peek := range t.run {
		pos, adv := uint16(0), uint16(0)
		eob := false
		for {
			e := t.skip[(peek<<pos)&(1<<lutBits-1)]
			b := e & 31
			if e == 0 || pos+b > lutBits {
				break
			}
			pos += b
			if e>>5 == 0 {
				eob = true
				break
			}
			adv += e >> 5
		}
		if pos > 0 {
			t.run[peek] = pos | adv<<5
			if eob {
				t.run[peek] |= runEOB
			}
		}
	}
	t.valid = true
	return nil
}

const runEOB = 1 << 13

func extend(v, s int32) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return v - (1 << s) + 1
	}
	return v
}

// bitReader reads the entropy-coded segment MSB first. acc holds n valid bits,
// left-aligned; bits below them, when present, are the following data.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64
	n    uint
	end  bool // ran off the end of data (no marker): the file is truncated
}

const (
	hasFF    = 0x8080808080808080
	codeOnly = 1 << 5
)

// fill tops acc up to at least 57 bits. Runs of data without 0xFF (almost all of
// it) go in 8 bytes at a time; 0xFF (stuffing or a marker) goes byte by byte.
func (b *bitReader) fill() {
	if b.pos+8 <= len(b.data) {
		p := b.data[b.pos : b.pos+8]
		v := uint64(p[0])<<56 | uint64(p[1])<<48 | uint64(p[2])<<40 | uint64(p[3])<<32 |
			uint64(p[4])<<24 | uint64(p[5])<<16 | uint64(p[6])<<8 | uint64(p[7])
		x := ^v // a 0xFF byte in v is a zero byte in x
		if (x-0x0101010101010101)&^x&hasFF == 0 {
			b.acc |= v >> b.n
			take := (63 - b.n) >> 3
			b.pos += int(take)
			b.n += take << 3
			return
		}
	}
	for b.n <= 56 {
		var c byte
		if b.pos < len(b.data) {
			c = b.data[b.pos]
			if c == 0xFF {
				if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0x00 {
					b.pos += 2
				} else {
					// A marker: stop in front of it and pad with zeros.
					c = 0
				}
			} else {
				b.pos++
			}
		} else {
			b.end = true
		}
		// Clear what may sit below n from a fast refill, then add the byte.
		b.acc = b.acc&^(^uint64(0)>>b.n) | uint64(c)<<(56-b.n)
		b.n += 8
	}
}

// reset discards buffered bits (at a restart marker or the end of a scan).
func (b *bitReader) reset() {
	b.acc, b.n = 0, 0
}

// bits returns the next s (<= 16) bits.
func (b *bitReader) bits(s uint) int32 {
	if s == 0 {
		return 0
	}
	if b.n < s {
		b.fill()
	}
	v := int32(b.acc >> (64 - s))
	b.acc <<= s
	b.n -= s
	return v
}

func (b *bitReader) bit() bool {
	if b.n == 0 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}

// decodeSym decodes one Huffman symbol the slow way (codes longer than lutBits,
// or any code when the caller does not use the combined table).
func (b *bitReader) decodeSym(t *huffTable) (uint8, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.fast[b.acc>>(64-lutBits)]; e != 0 {
		sym := uint8(e >> 8)
		l := uint(e & 31)
		if e&codeOnly == 0 {
			l -= uint(sym & 15)
		}
		b.acc <<= l
		b.n -= l
		return sym, nil
	}
	code := int32(b.acc >> (64 - 16))
	l := lutBits + 1
	for ; l <= 16 && code>>(16-l) > t.maxcode[l]; l++ {
	}
	if l > 16 {
		return 0, formatErr("bad Huffman code")
	}
	idx := t.valptr[l] + code>>(16-l)
	b.acc <<= uint(l)
	b.n -= uint(l)
	if idx < 0 || idx > 255 {
		return 0, formatErr("bad Huffman code")
	}
	return t.vals[idx], nil
}
