package imagingtest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// Hostile is one memory bomb inside the byte limits: a small file whose header
// declares far more pixels than its data can hold, or pixels that are each many
// bytes wide.
type Hostile struct {
	Name string
	Data []byte
}

// HostileFiles are the memory bombs of issue 14, generated: a ~1 KB progressive JPEG
// declaring 10000×10000 with a truncated scan (the standard decoder allocates
// about 1.5 GB of coefficients and planes for it), the same as a baseline JPEG, a
// valid 16-bit RGBA PNG of 10000×10000 zeros (800 MB of pixels, 1.2 GB once
// converted to 8-bit RGBA for resizing) in about 5 MB; and HEICs declaring
// 10000×10000 as one coded image, as a grid of damaged tiles, and tiles whose
// parameter sets declare 16000×16000 pictures.
func HostileFiles() []Hostile {
	return []Hostile{
		{"jpeg-progressive-10000x10000-truncated", TruncatedJPEG(10000, 10000, true)},
		{"jpeg-baseline-10000x10000-truncated", TruncatedJPEG(10000, 10000, false)},
		{"png-rgba16-10000x10000", ZeroPNG(10000, 10000, 16, 6)},
		{"heic-10000x10000-one-coded-image", HEIF(HEIFSpec{Width: 10000, Height: 10000, Rotation: -1, Mirror: -1})},
		{"heic-10000x10000-grid-of-damaged-tiles", HEIF(HEIFSpec{Width: 10000, Height: 10000, Cols: 20, Rows: 20, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1})},
		{"heic-512-tiles-declaring-16000x16000", HEIF(HEIFSpec{Width: 1024, Height: 1024, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1, SPSWidth: 16000, SPSHeight: 16000})},
	}
}

// TruncatedJPEG is a JPEG whose frame header declares w×h, three components at full
// resolution (4:4:4), with valid tables and the start of one scan whose data stops
// after a few hundred bytes (no EOI): about 1.2 KB in all.
func TruncatedJPEG(w, h int, progressive bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	seg := func(marker byte, payload []byte) {
		b.Write([]byte{0xFF, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(payload)+2))
		b.Write(payload)
	}
	q := make([]byte, 65) // table 0, 8-bit, every step 1
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	seg(0xDB, q)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3}
	for id := byte(1); id <= 3; id++ {
		sof = append(sof, id, 0x11, 0)
	}
	marker := byte(0xC0)
	if progressive {
		marker = 0xC2
	}
	seg(marker, sof)
	// One DC and one AC table, each with a single 1-bit code (symbol 0: a zero DC
	// difference, an end of block).
	for _, class := range []byte{0x00, 0x10} {
		t := append([]byte{class, 1}, make([]byte, 15)...)
		seg(0xC4, append(t, 0))
	}
	sos := []byte{3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0}
	if progressive {
		sos[7], sos[8] = 0, 0 // the first DC scan
	}
	seg(0xDA, sos)
	// Scan data: zero bits (every block a zero DC and an end of block) until the
	// file simply stops.
	b.Write(bytes.Repeat([]byte{0x00}, 1174-b.Len()))
	return b.Bytes()
}

// ZeroPNG is a valid, non-interlaced PNG of w×h black (or transparent) pixels with
// the given bit depth and colour type, its zlib stream written by hand: one
// fixed-Huffman block of a literal zero followed by length-258, distance-1 matches,
// 13 bits per 258 bytes, so the file stays small (about 5 MB for 800 MB of pixels)
// and is made in milliseconds.
func ZeroPNG(w, h, depth int, colorType byte) []byte {
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colorType]
	rowBytes := 1 + (w*channels*depth+7)/8 // filter byte, then the samples
	raw := int64(h) * int64(rowBytes)
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := append([]byte(kind), data...)
		out.Write(c)
		binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, byte(depth), colorType, 0, 0, 0))
	if colorType == 3 {
		chunk("PLTE", []byte{0, 0, 0})
	}
	chunk("IDAT", zeroZlib(raw))
	chunk("IEND", nil)
	return out.Bytes()
}

// zeroZlib is a zlib stream of n zero bytes.
func zeroZlib(n int64) []byte {
	var bw bitWriter
	bw.buf = []byte{0x78, 0x01} // deflate, 32K window, no dictionary
	bw.bits(1, 1)               // final block
	bw.bits(1, 2)               // fixed Huffman
	bw.code(0b00110000, 8)      // literal 0
	left := n - 1
	for left >= 3 {
		l := min(left, 258)
		if left-l > 0 && left-l < 3 {
			l = left - 3 // leave a tail that one more match can take
		}
		bw.length(int(l))
		bw.code(0, 5) // distance code 0: distance 1
		left -= l
	}
	for ; left > 0; left-- {
		bw.code(0b00110000, 8)
	}
	bw.code(0, 7) // end of block (256)
	bw.flush()
	a := uint32(n%65521)<<16 | 1 // Adler-32 of n zeros
	return binary.BigEndian.AppendUint32(bw.buf, a)
}

type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

// bits writes v's low n bits, least significant first (deflate's header fields).
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// code writes an n-bit Huffman code, most significant bit first.
func (w *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := uint(0); i < n; i++ {
		r = r<<1 | (c>>i)&1
	}
	w.bits(r, n)
}

// length writes a match length (3-258) with the fixed code and its extra bits.
func (w *bitWriter) length(l int) {
	base := []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	extra := []uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	i := len(base) - 1
	for base[i] > l {
		i--
	}
	sym := 257 + i
	if sym <= 279 {
		w.code(uint64(sym-256), 7) // 256-279: 7-bit codes from 0
	} else {
		w.code(uint64(0b11000000+sym-280), 8) // 280-287: 8-bit codes from 0xC0
	}
	w.bits(uint64(l-base[i]), extra[i])
}

func (w *bitWriter) flush() {
	if w.nbits > 0 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc, w.nbits = 0, 0
	}
}

// exifTextTags are tag ids that goexif names in IFD0 and the Exif IFD (their
// expected types do not matter to a reader that shows what the file holds).
var exifTextTags = []uint16{
	0x010E, 0x0110, 0x0131, 0x013B, 0x8298, 0x0132, 0x0100, 0x0101, 0x0102, 0x0103,
	0x0106, 0x0115, 0x011C, 0x0212, 0x0213, 0x011A, 0x011B, 0x0128, 0x9c9b, 0x9c9c,
	0x9c9d, 0x9c9e, 0x9c9f, 0x9000, 0xA000, 0xA001, 0x9101, 0x9102, 0xA002, 0xA003,
	0xA004, 0x9003, 0x9004, 0x9290, 0x9291, 0x9292, 0xA420, 0x829A, 0x829D, 0x8822,
	0x8824, 0x8827, 0x8828, 0x9201, 0x9202, 0x9203, 0x9204, 0x9205, 0x9206, 0x9207,
	0x9208, 0x9209, 0x920A, 0x9214, 0xA20B, 0xA20C, 0xA20E, 0xA20F, 0xA210, 0xA214,
	0xA215, 0xA217, 0xA300, 0xA301, 0xA302, 0xA401, 0xA402, 0xA403, 0xA404, 0xA405,
	0xA406, 0xA407, 0xA408, 0xA409, 0xA40A, 0xA40B, 0xA40C, 0xA433, 0xA434,
}

// HugeEXIF is an EXIF block whose tags, shown as JSON, come to about 480 KB: Make
// "Crafted", then every other tag a reader names holding 1023 U+0001 characters,
// each of which JSON writes as a six-byte escape. Carried whole in a Step Functions
// state it would pass the 256 KiB limit.
func HugeEXIF() []byte {
	o := binary.LittleEndian
	long := string(bytes.Repeat([]byte{1}, 1023))
	ifd0 := IFD{ASCII(0x010F, "Crafted")}
	for _, tag := range exifTextTags {
		ifd0 = append(ifd0, ASCII(tag, long))
	}
	return BuildTIFF(o, ifd0, nil, nil)
}

// WithPNGEXIF inserts tiff as an eXIf chunk after a PNG's IHDR.
func WithPNGEXIF(png, tiff []byte) []byte {
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
	c := append([]byte("eXIf"), tiff...)
	chunk = append(chunk, c...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(c))
	out := append([]byte{}, png[:33]...)
	out = append(out, chunk...)
	return append(out, png[33:]...)
}
