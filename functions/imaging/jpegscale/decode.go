// Package jpegscale decodes baseline and progressive JPEGs at 1/1, 1/2, 1/4 or 1/8
// scale in the DCT domain, so a thumbnail never pays for pixels it throws away.
//
// At 1/8 each 8×8 block becomes one pixel from its DC coefficient alone (no IDCT);
// at 1/4 and 1/2 a 2×2 or 4×4 IDCT runs on the block's low frequencies. In a
// sequential scan every coefficient is still entropy-decoded (Huffman codes have no
// skip index), but only the kept ones are stored, dequantised and transformed. A
// progressive file's AC scans of a component kept at DC alone (luma at 1/8) are
// skipped whole, without entropy decoding: most of such a file is never decoded. Subsampled chroma is
// reconstructed directly at the output resolution where the scale allows it (a 4:2:0
// chroma block becomes 2×2 pixels at 1/8), otherwise replicated.
//
// Output: *image.Gray for one-component files, *image.RGBA (opaque) for everything
// else — YCbCr, RGB and Adobe CMYK/YCCK are converted to RGB here in integer
// arithmetic. RGBA is what the resizers' fast paths (golang.org/x/image/draw and a
// hand-written filter alike) read with no per-pixel interface calls.
//
// Not supported (typed *UnsupportedError): 12-bit samples, arithmetic coding,
// lossless and hierarchical JPEGs, DNL-defined heights and unusual sampling
// factors that are not integer ratios of the largest.
package jpegscale

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// MaxPixels caps width×height whatever the caller's limits say, so a forged header
// cannot make the decoder allocate gigabytes.
const MaxPixels = 1 << 28

// FormatError reports malformed JPEG data.
type FormatError struct{ Reason string }

func (e *FormatError) Error() string { return "jpegscale: invalid JPEG: " + e.Reason }

// UnsupportedError reports a valid JPEG feature this decoder does not implement;
// a caller may fall back to another decoder.
type UnsupportedError struct{ Feature string }

func (e *UnsupportedError) Error() string { return "jpegscale: unsupported JPEG feature: " + e.Feature }

func formatErr(format string, a ...any) error { return &FormatError{Reason: fmt.Sprintf(format, a...)} }

// Decode decodes r at the largest reduction (1, 1/2, 1/4, 1/8) that keeps the longer
// side at least minSide pixels (so both sides stay at least what a fit of the longer
// side into minSide needs), returning the image and the scale denominator (1, 2, 4
// or 8). minSide <= 0 decodes at 1/8.
func Decode(r io.Reader, minSide int) (image.Image, int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("jpegscale: read: %w", err)
	}
	return DecodeBytes(data, minSide)
}

// DecodeBytes is Decode for data already in memory (no copy).
func DecodeBytes(data []byte, minSide int) (img image.Image, denom int, err error) {
	defer recoverErr(&err)
	return decodeData(data, func(w, h int) int { return chooseDenom(w, h, minSide) })
}

// decodeData is the decoder without the recover (the fuzz target calls it so a
// panic is a failure, not an error).
func decodeData(data []byte, pick func(w, h int) int) (image.Image, int, error) {
	d := &decoder{pick: pick}
	if err := d.parse(data, true); err != nil {
		return nil, 0, err
	}
	img, err := d.finish()
	if err != nil {
		return nil, 0, err
	}
	return img, d.denom, nil
}

// DecodeScale decodes data at exactly 1/denom scale (denom 1, 2, 4 or 8).
func DecodeScale(data []byte, denom int) (img image.Image, err error) {
	defer recoverErr(&err)
	switch denom {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("jpegscale: scale 1/%d not supported", denom)
	}
	img, _, err = decodeData(data, func(int, int) int { return denom })
	return img, err
}

// DecodeConfig returns the full-size dimensions and the colour model Decode's image
// will have.
func DecodeConfig(r io.Reader) (cfg image.Config, err error) {
	defer recoverErr(&err)
	// Headers come before the first scan; read in chunks until the frame header is
	// seen so a large file is not read whole.
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		n, rerr := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		d := &decoder{}
		perr := d.parse(buf, false)
		if perr == nil && d.sof {
			return d.config(), nil
		}
		var fe *FormatError
		if perr != nil && !errors.As(perr, &fe) {
			return image.Config{}, perr
		}
		if perr != nil && !d.truncated {
			return image.Config{}, perr
		}
		if rerr == io.EOF {
			if perr != nil {
				return image.Config{}, perr
			}
			return image.Config{}, formatErr("no frame header")
		}
		if rerr != nil {
			return image.Config{}, fmt.Errorf("jpegscale: read: %w", rerr)
		}
		if len(buf) > 64<<20 {
			return image.Config{}, formatErr("no frame header in the first 64 MB")
		}
	}
}

func (d *decoder) config() image.Config {
	var m color.Model = color.RGBAModel
	if len(d.comps) == 1 {
		m = color.GrayModel
	}
	return image.Config{ColorModel: m, Width: d.width, Height: d.height}
}

// recoverErr turns a panic (a bug, never expected) into an error so one bad upload
// cannot take down a Lambda that handles many.
func recoverErr(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("jpegscale: internal error decoding: %v", p)
	}
}

func chooseDenom(w, h, minSide int) int {
	if minSide <= 0 {
		return 8
	}
	long := max(w, h)
	for _, d := range []int{8, 4, 2} {
		if (long+d-1)/d >= minSide {
			return d
		}
	}
	return 1
}

type component struct {
	id     uint8
	h, v   int // sampling factors
	tq     uint8
	td, ta uint8 // Huffman table selectors of the current scan
	bw, bh int   // blocks per row and column, padded to whole MCUs
	// Blocks actually covered by the image (non-interleaved scans visit only these).
	cbw, cbh int
	kx, ky   int // pixels per block at the chosen scale (1, 2, 4 or 8 each way)
	need     int // highest zigzag index the reduced IDCT reads
	fx, fy   int // replication factors from this plane to the output
	plane    []uint8
	stride   int
	coefs    []int16 // progressive: ncoef per block, zigzag order
	// ncoef is how many coefficients a progressive block keeps: 1 when only the DC
	// coefficient is read (its AC scans are skipped, see parseSOS), else 64
	// (refinement scans need every coefficient of their band).
	ncoef int
	pred  int32
}

type decoder struct {
	data          []byte
	pos           int
	truncated     bool // headers ran past the end of data (DecodeConfig reads more)
	width, height int
	comps         []component
	sof           bool
	progressive   bool
	hmax, vmax    int
	mcux, mcuy    int
	quant         [4][64]uint16 // zigzag order
	quantSet      [4]bool
	dc, ac        [4]huffTable
	restart       int
	adobe         bool
	adobeXform    uint8
	jfif          bool
	eobrun        int
	br            bitReader
	denom         int
	pick          func(w, h int) int // chooses denom once the frame header is known
	scans         int
}

func (d *decoder) u8() (byte, error) {
	if d.pos >= len(d.data) {
		d.truncated = true
		return 0, formatErr("unexpected end of data")
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

// segment returns the payload of a marker segment with a 16-bit length.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		d.truncated = true
		return nil, formatErr("unexpected end of data")
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 {
		return nil, formatErr("segment length %d", n)
	}
	if d.pos+n > len(d.data) {
		d.truncated = true
		return nil, formatErr("segment runs past end of data")
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

// nextMarker skips fill bytes and returns the next marker code.
func (d *decoder) nextMarker() (byte, error) {
	b, err := d.u8()
	if err != nil {
		return 0, err
	}
	if b != 0xFF {
		// Tolerate garbage between segments the way common decoders do, but bounded
		// by the data length (no hang).
		for b != 0xFF {
			if b, err = d.u8(); err != nil {
				return 0, err
			}
		}
	}
	for b == 0xFF {
		if b, err = d.u8(); err != nil {
			return 0, err
		}
	}
	return b, nil
}

// parse reads markers. With decodeScans it decodes every scan (progressive ones into
// coefficient buffers); without it stops at the first scan (DecodeConfig).
func (d *decoder) parse(data []byte, decodeScans bool) error {
	d.data = data
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		if len(data) < 2 {
			d.truncated = true
		}
		return formatErr("missing SOI marker")
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			return err
		}
		switch {
		case m == 0xD9: // EOI
			if !d.sof {
				return formatErr("no frame before EOI")
			}
			if d.scans == 0 {
				return formatErr("no scan before EOI")
			}
			return nil
		case m >= 0xD0 && m <= 0xD7, m == 0x01: // stray RST or TEM: no payload
			continue
		case m >= 0xC0 && m <= 0xCF && m != 0xC4:
			if stop, err := d.frameMarker(m, decodeScans); err != nil || stop {
				return err
			}
		case m == 0xDB || m == 0xC4 || m == 0xDD:
			if err := d.tableMarker(m); err != nil {
				return err
			}
		case m == 0xDC:
			return &UnsupportedError{"DNL marker"}
		case m == 0xDA:
			p, err := d.segment()
			if err != nil {
				return err
			}
			if !decodeScans {
				return nil
			}
			if !d.sof {
				return formatErr("scan before frame header")
			}
			if err := d.parseSOS(p); err != nil {
				return err
			}
		case m == 0xE0 || m == 0xEE:
			if err := d.appMarker(m); err != nil {
				return err
			}
		default: // APPn, COM and anything else with a length
			if _, err := d.segment(); err != nil {
				return err
			}
		}
	}
}

// frameMarker handles SOFn (0xC0-0xCF but DHT): the frame header of the processes
// this decoder implements, an *UnsupportedError for the others. It stops the parse
// at the frame header when scans are not decoded.
func (d *decoder) frameMarker(m byte, decodeScans bool) (stop bool, err error) {
	switch {
	case m == 0xC3:
		return false, &UnsupportedError{"lossless (SOF3)"}
	case m >= 0xC5 && m <= 0xC7, m == 0xCD || m == 0xCE || m == 0xCF:
		return false, &UnsupportedError{"hierarchical JPEG"}
	case m == 0xC9 || m == 0xCA || m == 0xCB || m == 0xCC:
		return false, &UnsupportedError{"arithmetic coding"}
	case m == 0xC8:
		return false, &UnsupportedError{"JPG extension"}
	}
	p, err := d.segment()
	if err != nil {
		return false, err
	}
	if err := d.parseSOF(p, m == 0xC2); err != nil {
		return false, err
	}
	if !decodeScans {
		return true, nil
	}
	d.denom = d.pick(d.width, d.height)
	d.setScale()
	return false, nil
}

// tableMarker reads DQT, DHT or DRI.
func (d *decoder) tableMarker(m byte) error {
	p, err := d.segment()
	if err != nil {
		return err
	}
	switch m {
	case 0xDB:
		return d.parseDQT(p)
	case 0xC4:
		return d.parseDHT(p)
	}
	if len(p) != 2 {
		return formatErr("DRI length")
	}
	d.restart = int(p[0])<<8 | int(p[1])
	return nil
}

// appMarker reads APP0 (JFIF) and APP14 (Adobe), which decide the colour transform.
func (d *decoder) appMarker(m byte) error {
	p, err := d.segment()
	if err != nil {
		return err
	}
	if m == 0xE0 && len(p) >= 5 && string(p[:5]) == "JFIF\x00" {
		d.jfif = true
	}
	if m == 0xEE && len(p) >= 12 && string(p[:5]) == "Adobe" {
		d.adobe = true
		d.adobeXform = p[11]
	}
	return nil
}

func (d *decoder) parseSOF(p []byte, progressive bool) error {
	if d.sof {
		return formatErr("more than one frame header")
	}
	d.progressive = progressive // known even when the frame is refused below (Plan)
	if len(p) < 6 {
		return formatErr("SOF too short")
	}
	if p[0] != 8 {
		return &UnsupportedError{fmt.Sprintf("%d-bit samples", p[0])}
	}
	d.height = int(p[1])<<8 | int(p[2])
	d.width = int(p[3])<<8 | int(p[4])
	n := int(p[5])
	if d.height == 0 {
		return &UnsupportedError{"height defined by DNL"}
	}
	if d.width == 0 {
		return formatErr("zero width")
	}
	if int64(d.width)*int64(d.height) > MaxPixels {
		return formatErr("%dx%d exceeds %d pixels", d.width, d.height, MaxPixels)
	}
	if n != 1 && n != 3 && n != 4 {
		return &UnsupportedError{fmt.Sprintf("%d components", n)}
	}
	if len(p) != 6+3*n {
		return formatErr("SOF length")
	}
	d.comps = make([]component, n)
	for i := range d.comps {
		c := &d.comps[i]
		c.id = p[6+3*i]
		c.h = int(p[7+3*i] >> 4)
		c.v = int(p[7+3*i] & 15)
		c.tq = p[8+3*i]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return formatErr("component %d sampling %dx%d table %d", i, c.h, c.v, c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return formatErr("duplicate component id %d", c.id)
			}
		}
	}
	if n == 1 {
		// A lone component is always coded one block per MCU whatever it claims.
		d.comps[0].h, d.comps[0].v = 1, 1
	}
	d.hmax, d.vmax = 1, 1
	for _, c := range d.comps {
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	for _, c := range d.comps {
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return &UnsupportedError{fmt.Sprintf("sampling factors %dx%d with maximum %dx%d", c.h, c.v, d.hmax, d.vmax)}
		}
	}
	d.mcux = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcuy = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcux*c.h, d.mcuy*c.v
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		c.cbw, c.cbh = (cw+7)/8, (ch+7)/8
	}
	d.sof = true
	return nil
}

func (d *decoder) parseDQT(p []byte) error {
	for len(p) > 0 {
		pq, tq := p[0]>>4, p[0]&15
		if tq > 3 || pq > 1 {
			return formatErr("DQT table %d precision %d", tq, pq)
		}
		p = p[1:]
		if pq == 0 {
			if len(p) < 64 {
				return formatErr("DQT too short")
			}
			for i := range 64 {
				d.quant[tq][i] = uint16(p[i])
			}
			p = p[64:]
		} else {
			if len(p) < 128 {
				return formatErr("DQT too short")
			}
			for i := range 64 {
				d.quant[tq][i] = uint16(p[2*i])<<8 | uint16(p[2*i+1])
			}
			p = p[128:]
		}
		d.quantSet[tq] = true
	}
	return nil
}

func (d *decoder) parseDHT(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return formatErr("DHT too short")
		}
		tc, th := p[0]>>4, p[0]&15
		if tc > 1 || th > 3 {
			return formatErr("DHT class %d table %d", tc, th)
		}
		var counts [16]int
		total := 0
		for i := range 16 {
			counts[i] = int(p[1+i])
			total += counts[i]
		}
		if total > 256 || len(p) < 17+total {
			return formatErr("DHT has %d codes", total)
		}
		t := &d.dc[th]
		if tc == 1 {
			t = &d.ac[th]
		}
		if err := t.build(counts, p[17:17+total]); err != nil {
			return err
		}
		p = p[17+total:]
	}
	return nil
}
