package jpegscale

import "bytes"

// Pixels per block side for each denominator.
func blockSize(denom int) int { return 8 / denom }

// needIndex is the highest zigzag index a kx×ky reduced IDCT reads (0 for DC only,
// 4 for 2×2, 24 for 4×4, 63 for 8×8).
func needIndex(kx, ky int) int {
	need := 0
	for z, n := range unzig {
		if int(n&7) < kx && int(n>>3) < ky {
			need = z
		}
	}
	return need
}

// setScale picks each component's IDCT size and allocates its plane. A subsampled
// component uses a larger IDCT where that lands it on the output grid directly.
func (d *decoder) setScale() {
	k0 := blockSize(d.denom)
	for i := range d.comps {
		c := &d.comps[i]
		rx, ry := d.hmax/c.h, d.vmax/c.v
		mx, my := 1, 1
		for rx%(2*mx) == 0 && k0*mx*2 <= 8 {
			mx *= 2
		}
		for ry%(2*my) == 0 && k0*my*2 <= 8 {
			my *= 2
		}
		c.kx, c.ky, c.fx, c.fy = k0*mx, k0*my, rx/mx, ry/my
		c.need = needIndex(c.kx, c.ky)
		c.ncoef = 64
		if c.need == 0 {
			c.ncoef = 1
		}
		c.stride = c.bw * c.kx
	}
}

// allocate makes a component's plane (and, for progressive files, its
// coefficients) at its first scan, once the data shows it can hold that many
// blocks: a sequential block costs at least 2 bits (DC code and EOB), a block in a
// first progressive DC scan at least 1. So a small file cannot claim a huge frame
// and make us allocate for it.
func (d *decoder) allocate(c *component, ss int, ah uint) error {
	if c.plane != nil {
		return nil
	}
	rem := len(d.data) - d.pos
	blocks := c.cbw * c.cbh
	switch {
	case d.progressive && (ss != 0 || ah != 0):
		return formatErr("AC or refinement scan before the first DC scan")
	case d.progressive && blocks > 8*rem+64, !d.progressive && blocks > 4*rem+64:
		return formatErr("%d blocks cannot fit in %d bytes", blocks, rem)
	}
	c.plane = make([]uint8, c.stride*c.bh*c.ky)
	if d.progressive {
		c.coefs = make([]int16, c.bw*c.bh*c.ncoef)
	}
	return nil
}

func (d *decoder) parseSOS(p []byte) error {
	if len(p) < 1 {
		return formatErr("SOS too short")
	}
	ns := int(p[0])
	if ns < 1 || ns > 4 || len(p) != 4+2*ns {
		return formatErr("SOS with %d components", ns)
	}
	var scomps [4]*component
	for i := range ns {
		id, tables := p[1+2*i], p[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return formatErr("scan component %d not in frame", id)
		}
		for j := range i {
			if scomps[j] == c {
				return formatErr("component %d twice in one scan", id)
			}
		}
		c.td, c.ta = tables>>4, tables&15
		if c.td > 3 || c.ta > 3 {
			return formatErr("Huffman table selector")
		}
		scomps[i] = c
	}
	ss, se := int(p[1+2*ns]), int(p[2+2*ns])
	ah, al := uint(p[3+2*ns]>>4), uint(p[3+2*ns]&15)
	sc := scomps[:ns]
	if d.progressive {
		if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 || ah > 13 {
			return formatErr("progressive scan Ss=%d Se=%d Ah=%d Al=%d with %d components", ss, se, ah, al, ns)
		}
	} else {
		ss, se, ah, al = 0, 63, 0, 0
	}
	for _, c := range sc {
		if !d.quantSet[c.tq] {
			return formatErr("quantisation table %d missing", c.tq)
		}
		if ss == 0 && ah == 0 && !d.dc[c.td].valid {
			return formatErr("DC Huffman table %d missing", c.td)
		}
		if se > 0 && !d.ac[c.ta].valid {
			return formatErr("AC Huffman table %d missing", c.ta)
		}
	}
	for _, c := range sc {
		if err := d.allocate(c, ss, ah); err != nil {
			return err
		}
	}
	if d.progressive && ss > 0 && sc[0].ncoef == 1 {
		// An AC scan (first pass or refinement; AC scans hold one component) of a
		// component of which only DC is kept changes nothing we output: at 1/8 the
		// luma AC scans — most of the file — are skipped without entropy decoding.
		// Only all of a component's AC scans may go: a refinement scan's codes
		// depend on which coefficients of its band earlier passes made nonzero.
		if err := d.skipScan(); err != nil {
			return err
		}
		d.scans++
		return nil
	}
	d.br = bitReader{data: d.data, pos: d.pos}
	d.eobrun = 0
	for _, c := range sc {
		c.pred = 0
	}
	var err error
	if ns == 1 {
		err = d.scanSingle(sc[0], ss, se, ah, al)
	} else {
		err = d.scanInterleaved(sc, ss, ah, al)
	}
	if err != nil {
		return err
	}
	if d.br.end {
		return formatErr("entropy-coded data truncated")
	}
	d.pos = d.br.pos
	d.scans++
	return nil
}

// skipScan moves past a scan's entropy-coded data without decoding it: the data
// ends at the first marker other than a restart marker (T.81 B.1.1.5: 0xFF 0x00 is a
// stuffed 0xFF byte, 0xFF 0xFF fill before a marker).
func (d *decoder) skipScan() error {
	data := d.data
	for i := d.pos; ; {
		j := bytes.IndexByte(data[i:], 0xFF)
		if j < 0 || i+j+1 >= len(data) {
			return formatErr("entropy-coded data truncated")
		}
		i += j
		switch m := data[i+1]; {
		case m == 0x00, m >= 0xD0 && m <= 0xD7:
			i += 2
		case m == 0xFF:
			i++
		default:
			d.pos = i
			return nil
		}
	}
}

// restartSync handles the end of a restart interval: drop the partial byte, step
// over RSTn and reset the predictors.
func (d *decoder) restartSync(sc []*component) {
	b := &d.br
	b.reset()
	data := b.data
	for b.pos+1 < len(data) {
		if data[b.pos] == 0xFF {
			m := data[b.pos+1]
			if m >= 0xD0 && m <= 0xD7 {
				b.pos += 2
				break
			}
			if m != 0xFF && m != 0x00 {
				break // some other marker: leave it; the rest decodes as zeros
			}
		}
		b.pos++
	}
	for _, c := range sc {
		c.pred = 0
	}
	d.eobrun = 0
}

// scanInterleaved decodes a multi-component scan MCU by MCU.
func (d *decoder) scanInterleaved(sc []*component, ss int, ah, al uint) error {
	var blk [64]int32
	n := 0
	for my := 0; my < d.mcuy; my++ {
		for mx := 0; mx < d.mcux; mx++ {
			if d.restart > 0 && n > 0 && n%d.restart == 0 {
				d.restartSync(sc)
			}
			n++
			for _, c := range sc {
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						x, y := mx*c.h+bx, my*c.v+by
						if err := d.block(c, x, y, &blk, ss, 0, ah, al); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// scanSingle decodes a one-component scan, which visits only the blocks the
// component covers (not the MCU padding), one block per MCU.
func (d *decoder) scanSingle(c *component, ss, se int, ah, al uint) error {
	var blk [64]int32
	sc := []*component{c}
	n := 0
	for y := 0; y < c.cbh; y++ {
		for x := 0; x < c.cbw; x++ {
			if d.restart > 0 && n > 0 && n%d.restart == 0 {
				d.restartSync(sc)
			}
			n++
			if err := d.block(c, x, y, &blk, ss, se, ah, al); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *decoder) block(c *component, x, y int, blk *[64]int32, ss, se int, ah, al uint) error {
	if !d.progressive {
		clear(blk[:c.need+1])
		last, err := d.decodeSequential(c, blk, c.need)
		if err != nil {
			return err
		}
		off := y*c.ky*c.stride + x*c.kx
		idct(c.kx, c.ky, blk, &d.quant[c.tq], last, c.plane[off:], c.stride)
		return nil
	}
	i := (y*c.bw + x) * c.ncoef
	switch {
	case ss == 0 && ah == 0:
		return d.dcFirst(c, &c.coefs[i], al)
	case ss == 0:
		if d.br.bit() {
			c.coefs[i] |= 1 << al
		}
		return nil
	}
	// AC scans reach here only for components that keep 64 coefficients (parseSOS
	// skips the others' AC scans).
	coefs := (*[64]int16)(c.coefs[i:])
	if ah == 0 {
		return d.acFirst(c, coefs, ss, se, al)
	}
	return d.acRefine(c, coefs, ss, se, al)
}

// decodeSequential entropy-decodes one baseline block, keeping coefficients up to
// zigzag index need (the rest are decoded and dropped). It returns the highest
// index stored, so the IDCT can take its DC-only shortcut.
//
// This is the hot loop (at 1/8 nearly all the time goes here): the bit buffer
// lives in locals, and a code plus its value bits usually resolve with one table
// load (huffTable.fast).
func (d *decoder) decodeSequential(c *component, blk *[64]int32, need int) (int, error) {
	br := &d.br
	dct, act := &d.dc[c.td], &d.ac[c.ta]
	if br.n < 32 {
		br.fill()
	}
	var diff int32
	if e := dct.fast[br.acc>>(64-lutBits)]; e != 0 && e&codeOnly == 0 {
		l := uint(e & 31)
		br.acc <<= l
		br.n -= l
		diff = e >> 16
	} else {
		sym, err := br.decodeSym(dct)
		if err != nil {
			return 0, err
		}
		if sym > 15 {
			return 0, formatErr("DC size %d", sym)
		}
		diff = extend(br.bits(uint(sym)), int32(sym))
	}
	c.pred += diff
	blk[0] = c.pred
	last := 0
	acc, n := br.acc, br.n
	fast := &act.fast
	k := 1
	for k <= need {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		e := fast[acc>>(64-lutBits)]
		var r, s, v int32
		if e != 0 && e&codeOnly == 0 {
			l := uint(e & 31)
			acc <<= l
			n -= l
			r, s, v = (e>>12)&15, (e>>8)&15, e>>16
		} else if e != 0 {
			// A short code with a long value: the value bits follow in acc (n >= 32
			// covers code and value).
			l := uint(e & 31)
			acc <<= l
			n -= l
			r, s = (e>>12)&15, (e>>8)&15
			v = extend(int32(acc>>(64-uint(s))), s)
			acc <<= uint(s)
			n -= uint(s)
		} else {
			br.acc, br.n = acc, n
			sym, err := br.decodeSym(act)
			if err != nil {
				return 0, err
			}
			r, s = int32(sym>>4), int32(sym&15)
			v = extend(br.bits(uint(s)), s)
			acc, n = br.acc, br.n
		}
		if s == 0 {
			if r == 15 {
				k += 16
				continue
			}
			br.acc, br.n = acc, n
			return last, nil
		}
		k += int(r)
		if k <= need {
			blk[k] = v
			last = k
		}
		k++
	}
	br.acc, br.n = acc, n
	// The rest of the block is decoded only to find where it ends.
	return last, skipBlockTail(br, act, k)
}

// skipBlockTail entropy-decodes and drops a block's coefficients from zigzag index k
// to its end (EOB or index 63), by whole runs where the tables allow.
func skipBlockTail(br *bitReader, act *huffTable, k int) error {
	acc, n := br.acc, br.n
	skip, run := &act.skip, &act.run
	for k < 64 {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		peek := acc >> (64 - lutBits)
		if e := run[peek]; e != 0 {
			// Take the whole run when the block cannot end inside it (a block
			// ends at index 64 without an EOB); otherwise go one code at a time.
			adv := int(e>>5) & 0xff
			if k+adv < 64 || (k+adv == 64 && e&runEOB == 0) {
				acc <<= e & 31
				n -= uint(e & 31)
				if e&runEOB != 0 {
					break
				}
				k += adv
				continue
			}
		}
		if e := skip[peek]; e != 0 {
			acc <<= e & 31
			n -= uint(e & 31)
			adv := int(e >> 5)
			if adv == 0 {
				break
			}
			k += adv
			continue
		}
		br.acc, br.n = acc, n
		sym, err := br.decodeSym(act)
		if err != nil {
			return err
		}
		br.bits(uint(sym & 15))
		acc, n = br.acc, br.n
		if sym&15 == 0 {
			if sym>>4 != 15 {
				break
			}
			k += 16
			continue
		}
		k += int(sym>>4) + 1
	}
	br.acc, br.n = acc, n
	return nil
}

func (d *decoder) dcFirst(c *component, dc *int16, al uint) error {
	br := &d.br
	sym, err := br.decodeSym(&d.dc[c.td])
	if err != nil {
		return err
	}
	if sym > 15 {
		return formatErr("DC size %d", sym)
	}
	c.pred += extend(br.bits(uint(sym)), int32(sym))
	*dc = int16(c.pred << al)
	return nil
}

func (d *decoder) acFirst(c *component, coefs *[64]int16, ss, se int, al uint) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br := &d.br
	t := &d.ac[c.ta]
	for k := ss; k <= se; {
		sym, err := br.decodeSym(t)
		if err != nil {
			return err
		}
		r, s := int(sym>>4), uint(sym&15)
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
				return nil
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return formatErr("AC coefficient index out of range")
		}
		coefs[k] = int16(extend(br.bits(s), int32(s)) << al)
		k++
	}
	return nil
}

// acRefine applies one successive-approximation refinement pass (T.81 G.1.2.3):
// nonzero coefficients get a correction bit each; new ±1<<al values land on zero
// coefficients counted by the run lengths.
func (d *decoder) acRefine(c *component, coefs *[64]int16, ss, se int, al uint) error {
	br := &d.br
	t := &d.ac[c.ta]
	p1, m1 := int16(1)<<al, int16(-1)<<al
	refine := func(v *int16) {
		if br.bit() && *v&p1 == 0 {
			if *v >= 0 {
				*v += p1
			} else {
				*v += m1
			}
		}
	}
	k := ss
	if d.eobrun == 0 {
		for k <= se {
			sym, err := br.decodeSym(t)
			if err != nil {
				return err
			}
			r, s := int(sym>>4), sym&15
			var val int16
			switch {
			case s == 1:
				if br.bit() {
					val = p1
				} else {
					val = m1
				}
			case s != 0:
				return formatErr("refinement size %d", s)
			case r < 15:
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int(br.bits(uint(r)))
				}
			}
			if d.eobrun > 0 {
				break
			}
			for ; k <= se; k++ {
				v := &coefs[k]
				if *v != 0 {
					refine(v)
					continue
				}
				if r == 0 {
					if val != 0 {
						*v = val
					}
					k++
					break
				}
				r--
			}
		}
	}
	if d.eobrun > 0 {
		for ; k <= se; k++ {
			if coefs[k] != 0 {
				refine(&coefs[k])
			}
		}
		d.eobrun--
	}
	return nil
}
