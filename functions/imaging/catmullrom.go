package imaging

import (
	"image"
	"math"
)

// Fixed-point precision of the resampler: filter weights carry wBits fraction
// bits, and the horizontal pass keeps midBits of them in its int16 output (enough
// headroom for Catmull-Rom's overshoot: ±512 levels).
const (
	wBits   = 14
	midBits = 6
)

// taps are the filter weights of one axis: output i reads n[i] inputs from
// start[i] on, weighted by w[off[i]:].
type taps struct {
	start, n, off []int
	w             []int32
}

// catmullRomTaps computes the weights of a Catmull-Rom resampling from sw to dw
// samples, as golang.org/x/image/draw does (the kernel is widened by the scale
// when shrinking, so every input sample counts), then rounds them to wBits
// fixed point summing to exactly one. The explicit float64 conversions stop the
// compiler fusing multiply-adds, so the weights, hence the output bytes, are the
// same on every architecture.
func catmullRomTaps(dw, sw int) taps {
	scale := float64(sw) / float64(dw)
	half, argScale := 2.0, 1.0
	if scale > 1 {
		half *= scale
		argScale = 1 / scale
	}
	t := taps{start: make([]int, dw), n: make([]int, dw), off: make([]int, dw)}
	var fw []float64
	for x := range dw {
		center := float64(float64(x)+0.5)*scale - 0.5
		i := max(0, int(math.Floor(center-half)))
		j := min(sw, int(math.Ceil(center+half)))
		fw = fw[:0]
		total := 0.0
		first := -1
		for c := i; c < j; c++ {
			a := math.Abs(float64(center-float64(c)) * argScale)
			if a >= 2 {
				if first >= 0 {
					fw = append(fw, 0)
				}
				continue
			}
			if first < 0 {
				first = c
			}
			var v float64
			if a < 1 {
				v = float64(float64(float64(1.5*a)-2.5)*a*a) + 1
			} else {
				v = float64(float64(float64(float64(-0.5*a)+2.5)*a)-4)*a + 2
			}
			fw = append(fw, v)
			total += v
		}
		for len(fw) > 0 && fw[len(fw)-1] == 0 {
			fw = fw[:len(fw)-1]
		}
		if first < 0 || total == 0 { // cannot happen for sw, dw >= 1; be safe
			first, fw, total = min(max(0, int(center+0.5)), sw-1), append(fw[:0], 1), 1
		}
		t.start[x], t.n[x], t.off[x] = first, len(fw), len(t.w)
		sum, big := int32(0), 0
		for k, v := range fw {
			q := int32(math.Round(v / total * (1 << wBits)))
			t.w = append(t.w, q)
			sum += q
			if q > t.w[t.off[x]+big] {
				big = k
			}
		}
		t.w[t.off[x]+big] += 1<<wBits - sum // rounding error goes to the centre tap
	}
	return t
}

// catmullRom resamples src to dw×dh with a separable Catmull-Rom filter in
// integer arithmetic, reading and writing the pixel bytes directly: horizontally
// into an int16 buffer, then vertically. Channels are premultiplied RGBA, kept
// premultiplied (no channel above alpha); an opaque source skips alpha.
func catmullRom(src *image.RGBA, dw, dh int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	tx, ty := catmullRomTaps(dw, sw), catmullRomTaps(dh, sh)
	opaque := src.Opaque()

	// Horizontal pass: every source row, dw pixels wide.
	mid := make([]int16, sh*dw*4)
	const hr = 1 << (wBits - midBits - 1)
	for y := range sh {
		row := src.Pix[y*src.Stride : y*src.Stride+4*sw]
		out := mid[y*dw*4 : (y+1)*dw*4]
		for x := range dw {
			p := row[4*tx.start[x] : 4*(tx.start[x]+tx.n[x])]
			w := tx.w[tx.off[x] : tx.off[x]+tx.n[x]]
			o := out[4*x : 4*x+4 : 4*x+4]
			if opaque { // the decoders' output: alpha needs no filtering
				var r, g, bl int32
				for k, wk := range w {
					q := p[4*k : 4*k+3 : 4*k+3]
					r += wk * int32(q[0])
					g += wk * int32(q[1])
					bl += wk * int32(q[2])
				}
				o[0] = int16((r + hr) >> (wBits - midBits))
				o[1] = int16((g + hr) >> (wBits - midBits))
				o[2] = int16((bl + hr) >> (wBits - midBits))
				continue
			}
			var r, g, bl, a int32
			for k, wk := range w {
				q := p[4*k : 4*k+4 : 4*k+4]
				r += wk * int32(q[0])
				g += wk * int32(q[1])
				bl += wk * int32(q[2])
				a += wk * int32(q[3])
			}
			o[0] = int16((r + hr) >> (wBits - midBits))
			o[1] = int16((g + hr) >> (wBits - midBits))
			o[2] = int16((bl + hr) >> (wBits - midBits))
			o[3] = int16((a + hr) >> (wBits - midBits))
		}
	}

	// Vertical pass: each output byte sums its column over the taps' rows.
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	const vs = wBits + midBits
	const vr = 1 << (vs - 1)
	rows := make([][]int16, 0, 64)
	n := dw * 4
	for y := range dh {
		w := ty.w[ty.off[y] : ty.off[y]+ty.n[y]]
		rows = rows[:0]
		for k := range w {
			sy := ty.start[y] + k
			rows = append(rows, mid[sy*n:(sy+1)*n])
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+n]
		for x := 0; x < n; x += 4 {
			o := out[x : x+4 : x+4]
			if opaque {
				var r, g, bl int32
				for k, wk := range w {
					q := rows[k][x : x+3 : x+3]
					r += wk * int32(q[0])
					g += wk * int32(q[1])
					bl += wk * int32(q[2])
				}
				o[0], o[1], o[2], o[3] = clamp8((r+vr)>>vs), clamp8((g+vr)>>vs), clamp8((bl+vr)>>vs), 0xff
				continue
			}
			var r, g, bl, a int32
			for k, wk := range w {
				q := rows[k][x : x+4 : x+4]
				r += wk * int32(q[0])
				g += wk * int32(q[1])
				bl += wk * int32(q[2])
				a += wk * int32(q[3])
			}
			av := clamp8((a + vr) >> vs)
			o[0] = min(clamp8((r+vr)>>vs), av)
			o[1] = min(clamp8((g+vr)>>vs), av)
			o[2] = min(clamp8((bl+vr)>>vs), av)
			o[3] = av
		}
	}
	return dst
}

func clamp8(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}
