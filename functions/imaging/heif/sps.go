package heif

// checkPictureSize finds every HEVC sequence parameter set a decoder would read for
// one tile (in its hvcC, and any in the coded data itself) and refuses one whose
// picture is larger than the tile's declared size, padded to whole 64-pixel coding
// blocks: the decoder allocates its picture buffers from the SPS, not from ispe.
func checkPictureSize(hvcC, coded []byte, w, h int) error {
	if len(hvcC) < 23 {
		return formatErr("short hvcC")
	}
	lenSize := int(hvcC[21]&3) + 1
	var nals [][]byte
	p := hvcC[23:]
	for range int(hvcC[22]) {
		if len(p) < 3 {
			return errShort
		}
		n := int(p[1])<<8 | int(p[2])
		p = p[3:]
		for range n {
			if len(p) < 2 {
				return errShort
			}
			l := int(p[0])<<8 | int(p[1])
			if len(p) < 2+l {
				return errShort
			}
			nals, p = append(nals, p[2:2+l]), p[2+l:]
		}
	}
	for p := coded; len(p) > 0; {
		if len(p) < lenSize {
			return errShort
		}
		l := 0
		for _, b := range p[:lenSize] {
			l = l<<8 | int(b)
		}
		if l > len(p)-lenSize {
			return errShort
		}
		nals, p = append(nals, p[lenSize:lenSize+l]), p[lenSize+l:]
	}
	seen := false
	for _, nal := range nals {
		if len(nal) < 2 || (nal[0]>>1)&0x3f != 33 { // not an SPS
			continue
		}
		pw, ph, err := spsSize(nal[2:])
		if err != nil {
			return err
		}
		if pw > (w+63)&^63 || ph > (h+63)&^63 {
			return formatErr("coded picture %dx%d in a tile of %dx%d", pw, ph, w, h)
		}
		seen = true
	}
	if !seen {
		return formatErr("tile has no sequence parameter set")
	}
	return nil
}

// spsSize reads pic_width_in_luma_samples and pic_height_in_luma_samples from an
// SPS payload (after the two-byte NAL header).
func spsSize(payload []byte) (int, int, error) {
	// Remove emulation prevention bytes (00 00 03 → 00 00); 64 bytes hold the
	// fields up to the picture size in every stream a phone writes.
	var rbsp []byte
	zeros := 0
	for _, b := range payload[:min(len(payload), 256)] {
		if zeros >= 2 && b == 3 {
			zeros = 0
			continue
		}
		rbsp = append(rbsp, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	br := &bits{b: rbsp}
	br.skip(4)
	sub := br.u(3)
	br.skip(1)
	br.skip(96) // general profile, tier and level
	present := make([][2]bool, sub)
	for i := range present {
		present[i] = [2]bool{br.u(1) == 1, br.u(1) == 1}
	}
	if sub > 0 {
		br.skip(2 * (8 - sub))
	}
	for _, p := range present {
		if p[0] {
			br.skip(88)
		}
		if p[1] {
			br.skip(8)
		}
	}
	br.ue() // sps_seq_parameter_set_id
	if br.ue() == 3 {
		br.skip(1) // separate_colour_plane_flag
	}
	w, h := br.ue(), br.ue()
	if br.bad || w <= 0 || h <= 0 {
		return 0, 0, formatErr("damaged sequence parameter set")
	}
	return w, h, nil
}

// bits reads an RBSP most significant bit first; reading past the end sets bad.
type bits struct {
	b   []byte
	pos int
	bad bool
}

func (r *bits) u(n int) int {
	v := 0
	for range n {
		if r.pos >= 8*len(r.b) {
			r.bad = true
			return 0
		}
		v = v<<1 | int(r.b[r.pos/8]>>(7-r.pos%8))&1
		r.pos++
	}
	return v
}

func (r *bits) skip(n int) { r.pos += n }

// ue reads an unsigned Exp-Golomb code; more than 31 leading zeros is damage.
func (r *bits) ue() int {
	zeros := 0
	for r.u(1) == 0 {
		if zeros++; zeros > 31 || r.bad {
			r.bad = true
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}
