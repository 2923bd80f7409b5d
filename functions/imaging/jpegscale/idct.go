package jpegscale

import "math"

// unzig maps a zigzag index to its natural (row*8+col) position.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// t4[m][u] = C(u)/2 · cos((2m+1)uπ/8) in 13-bit fixed point: the 8-point IDCT
// sampled at the centres of pixel pairs is a 4-point IDCT of the low frequencies.
var t4 = func() (t [4][4]int32) {
	for m := range 4 {
		for u := range 4 {
			c := 0.5
			if u == 0 {
				c = 0.5 / math.Sqrt2
			}
			t[m][u] = int32(math.Round(8192 * c * math.Cos(float64((2*m+1)*u)*math.Pi/8)))
		}
	}
	return t
}()

func clamp(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// tk[k][m][u] = C(u)/2 · cos((2m+1)uπ/2k) in 13-bit fixed point for k = 1, 2, 4, 8:
// the rows of every reduced 1-D IDCT, for the rare non-square block sizes.
var tk = func() (t [9][8][8]int32) {
	for _, k := range []int{1, 2, 4, 8} {
		for m := range k {
			for u := range k {
				c := 0.5
				if u == 0 {
					c = 0.5 / math.Sqrt2
				}
				t[k][m][u] = int32(math.Round(8192 * c * math.Cos(float64((2*m+1)*u)*math.Pi/float64(2*k))))
			}
		}
	}
	return t
}()

// idctGeneric is a separable kx×ky reduced IDCT by matrix products; used when a
// subsampled component lands on the output grid only with a non-square block.
func idctGeneric(kx, ky int, blk *[64]int32, q *[64]uint16, dst []uint8, stride int) {
	var f [64]int32
	for z, n := range unzig {
		if int(n&7) < kx && int(n>>3) < ky {
			f[n] = blk[z] * int32(q[z])
		}
	}
	var t [64]int32
	ty, tx := &tk[ky], &tk[kx]
	for v := range kx {
		for m := range ky {
			var s int32
			for u := range ky {
				s += ty[m][u] * f[u*8+v]
			}
			t[m*8+v] = (s + 1<<10) >> 11
		}
	}
	for m := range ky {
		for n := range kx {
			var s int32
			for v := range kx {
				s += tx[n][v] * t[m*8+v]
			}
			dst[m*stride+n] = clamp((s+1<<14)>>15 + 128)
		}
	}
}

// idct writes the kx×ky reduced inverse DCT of blk (zigzag order, quantised) to
// dst. last is the highest zigzag index that may be nonzero.
func idct(kx, ky int, blk *[64]int32, q *[64]uint16, last int, dst []uint8, stride int) {
	if kx != ky {
		idctGeneric(kx, ky, blk, q, dst, stride)
		return
	}
	switch kx {
	case 1:
		dst[0] = clamp((blk[0]*int32(q[0])+4)>>3 + 128)
	case 2:
		f00 := blk[0] * int32(q[0])
		f01 := blk[1] * int32(q[1])
		f10 := blk[2] * int32(q[2])
		f11 := blk[4] * int32(q[4])
		a, b := f00+f10, f00-f10
		c, e := f01+f11, f01-f11
		dst[0] = clamp((a+c+4)>>3 + 128)
		dst[1] = clamp((a-c+4)>>3 + 128)
		dst[stride] = clamp((b+e+4)>>3 + 128)
		dst[stride+1] = clamp((b-e+4)>>3 + 128)
	case 4:
		idct4(blk, q, dst, stride)
	default:
		if last == 0 {
			v := clamp((blk[0]*int32(q[0])+4)>>3 + 128)
			for y := range 8 {
				row := dst[y*stride : y*stride+8]
				for x := range row {
					row[x] = v
				}
			}
			return
		}
		idct8(blk, q, last, dst, stride)
	}
}

func idct4(blk *[64]int32, q *[64]uint16, dst []uint8, stride int) {
	var f [16]int32 // natural 4×4, dequantised
	for z := 0; z <= 24; z++ {
		n := unzig[z]
		if r, c := n>>3, n&7; r < 4 && c < 4 {
			f[r*4+c] = blk[z] * int32(q[z])
		}
	}
	var t [16]int32
	for v := range 4 { // columns: vertical transform
		for m := range 4 {
			s := t4[m][0]*f[v] + t4[m][1]*f[4+v] + t4[m][2]*f[8+v] + t4[m][3]*f[12+v]
			t[m*4+v] = (s + 1<<10) >> 11
		}
	}
	for m := range 4 { // rows: horizontal transform
		row := dst[m*stride : m*stride+4]
		a, b, c, e := t[m*4], t[m*4+1], t[m*4+2], t[m*4+3]
		for n := range 4 {
			s := t4[n][0]*a + t4[n][1]*b + t4[n][2]*c + t4[n][3]*e
			row[n] = clamp((s+1<<14)>>15 + 128)
		}
	}
}

// 13-bit fixed-point constants of the Loeffler–Ligtenberg–Moschytz factorisation.
const (
	constBits = 13
	pass1Bits = 2
	f0298     = 2446  // 0.298631336
	f0390     = 3196  // 0.390180644
	f0541     = 4433  // 0.541196100
	f0765     = 6270  // 0.765366865
	f0899     = 7373  // 0.899976223
	f1175     = 9633  // 1.175875602
	f1501     = 12299 // 1.501321110
	f1847     = 15137 // 1.847759065
	f1961     = 16069 // 1.961570560
	f2053     = 16819 // 2.053119869
	f2562     = 20995 // 2.562915447
	f3072     = 25172 // 3.072711026
)

// idct1d is one 8-point pass on s[0], s[step], ... s[7*step] (already scaled);
// it returns the eight outputs scaled by 2^constBits.
func idct1d(i0, i1, i2, i3, i4, i5, i6, i7 int32) (o0, o1, o2, o3, o4, o5, o6, o7 int32) {
	// Even part.
	z1 := (i2 + i6) * f0541
	e2 := z1 - i6*f1847
	e3 := z1 + i2*f0765
	e0 := (i0 + i4) << constBits
	e1 := (i0 - i4) << constBits
	t10, t13 := e0+e3, e0-e3
	t11, t12 := e1+e2, e1-e2
	// Odd part.
	a0, a1, a2, a3 := i7, i5, i3, i1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * f1175
	a0 *= f0298
	a1 *= f2053
	a2 *= f3072
	a3 *= f1501
	z1 *= -f0899
	z2 *= -f2562
	z3 = z3*-f1961 + z5
	z4 = z4*-f0390 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4
	return t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3
}

func idct8(blk *[64]int32, q *[64]uint16, last int, dst []uint8, stride int) {
	var w [64]int32
	for z := 0; z <= last; z++ {
		w[unzig[z]] = blk[z] * int32(q[z])
	}
	// Columns: skip the arithmetic when only the DC term is present.
	const r1 = 1 << (constBits - pass1Bits - 1)
	for c := range 8 {
		if w[8+c]|w[16+c]|w[24+c]|w[32+c]|w[40+c]|w[48+c]|w[56+c] == 0 {
			v := w[c] << pass1Bits
			for r := range 8 {
				w[r*8+c] = v
			}
			continue
		}
		o0, o1, o2, o3, o4, o5, o6, o7 := idct1d(w[c], w[8+c], w[16+c], w[24+c], w[32+c], w[40+c], w[48+c], w[56+c])
		const sh = constBits - pass1Bits
		w[c], w[8+c], w[16+c], w[24+c] = (o0+r1)>>sh, (o1+r1)>>sh, (o2+r1)>>sh, (o3+r1)>>sh
		w[32+c], w[40+c], w[48+c], w[56+c] = (o4+r1)>>sh, (o5+r1)>>sh, (o6+r1)>>sh, (o7+r1)>>sh
	}
	const sh2 = constBits + pass1Bits + 3
	const r2 = 1<<(sh2-1) + 128<<sh2
	for r := range 8 {
		s := w[r*8 : r*8+8]
		row := dst[r*stride : r*stride+8]
		o0, o1, o2, o3, o4, o5, o6, o7 := idct1d(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
		row[0], row[1], row[2], row[3] = clamp((o0+r2)>>sh2), clamp((o1+r2)>>sh2), clamp((o2+r2)>>sh2), clamp((o3+r2)>>sh2)
		row[4], row[5], row[6], row[7] = clamp((o4+r2)>>sh2), clamp((o5+r2)>>sh2), clamp((o6+r2)>>sh2), clamp((o7+r2)>>sh2)
	}
}
