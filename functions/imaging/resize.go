package imaging

import (
	"image"
	"image/color"
	stddraw "image/draw"
	"math"
)

// FitSize is the size of a w×h image fitted into a box×box square, aspect kept: the
// longer side becomes exactly box, unless the image is already smaller.
func FitSize(w, h, box int) (int, int) {
	long := max(w, h)
	if box <= 0 || long <= box {
		return w, h
	}
	scale := float64(box) / float64(long)
	tw := max(1, int(math.Round(float64(w)*scale)))
	th := max(1, int(math.Round(float64(h)*scale)))
	if w >= h {
		tw = box
	} else {
		th = box
	}
	return tw, th
}

// Fit resizes m to fit into box×box (FitSize), as opaque RGBA: transparent pixels are
// composed onto white, since the result is meant for JPEG. A source much larger than
// the box is first averaged down by an integer factor (a box filter: fast, and
// alias-free), then resampled with Catmull-Rom for the exact size.
func Fit(m image.Image, box int) *image.RGBA {
	b := m.Bounds()
	tw, th := FitSize(b.Dx(), b.Dy(), box)
	return Resize(m, tw, th)
}

// Resize resamples m to exactly tw×th as Fit does. Callers that decoded a reduced
// image pass the size computed from the original's dimensions, so that the result
// does not depend on how much the decoder shrank.
func Resize(m image.Image, tw, th int) *image.RGBA {
	b := m.Bounds()
	var src *image.RGBA
	// Keep at least twice the target's pixels for the final Catmull-Rom pass.
	if k := max(b.Dx()/tw, b.Dy()/th) / 2; k >= 2 {
		src = boxReduce(m, k)
	} else {
		src = toRGBA(m)
	}
	var dst *image.RGBA
	if src.Bounds().Dx() == tw && src.Bounds().Dy() == th {
		dst = image.NewRGBA(image.Rect(0, 0, tw, th))
		stddraw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, stddraw.Src)
	} else {
		dst = catmullRom(src, tw, th)
	}
	flatten(dst)
	return dst
}

// toRGBA returns m as *image.RGBA, converting (premultiplied) if it is not one.
func toRGBA(m image.Image) *image.RGBA {
	if r, ok := m.(*image.RGBA); ok {
		return r
	}
	b := m.Bounds()
	r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	stddraw.Draw(r, r.Bounds(), m, b.Min, stddraw.Src)
	return r
}

// flatten composes premultiplied RGBA onto white and makes it opaque.
func flatten(m *image.RGBA) {
	for i := 0; i+3 < len(m.Pix); i += 4 {
		if a := m.Pix[i+3]; a != 0xff {
			add := 0xff - a
			m.Pix[i] += add
			m.Pix[i+1] += add
			m.Pix[i+2] += add
			m.Pix[i+3] = 0xff
		}
	}
}

// boxReduce averages k×k blocks of m into one pixel each (edge blocks average what
// they have). An image that is neither RGBA nor YCbCr is converted one strip of k
// rows at a time, never whole: a 16-bit 100 MP PNG would need 400 MB more.
func boxReduce(m image.Image, k int) *image.RGBA {
	if y, ok := m.(*image.YCbCr); ok {
		return boxReduceYCbCr(y, k)
	}
	b := m.Bounds()
	ow, oh := ceilDiv(b.Dx(), k), ceilDiv(b.Dy(), k)
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	sum := make([]uint32, ow*4)
	rgba, direct := m.(*image.RGBA)
	var strip *image.RGBA
	if !direct {
		strip = image.NewRGBA(image.Rect(0, 0, b.Dx(), k))
	}
	rows := make([][]uint8, 0, k)
	for oy := 0; oy < oh; oy++ {
		y0, y1 := b.Min.Y+oy*k, min(b.Min.Y+(oy+1)*k, b.Max.Y)
		rows = rows[:0]
		if direct {
			for y := y0; y < y1; y++ {
				rows = append(rows, rgba.Pix[rgba.PixOffset(b.Min.X, y):])
			}
		} else {
			stddraw.Draw(strip, image.Rect(0, 0, b.Dx(), y1-y0), m, image.Pt(b.Min.X, y0), stddraw.Src)
			for y := range y1 - y0 {
				rows = append(rows, strip.Pix[y*strip.Stride:])
			}
		}
		reduceRows(dst.Pix[dst.PixOffset(0, oy):], rows, b.Dx(), k, sum)
	}
	return dst
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// reduceRows averages rows of RGBA pixels (w wide) in blocks of k columns into out.
func reduceRows(out []uint8, rows [][]uint8, w, k int, sum []uint32) {
	clear(sum)
	ow := ceilDiv(w, k)
	for _, row := range rows {
		for ox := 0; ox < ow; ox++ {
			x0, x1 := ox*k, min((ox+1)*k, w)
			s := sum[ox*4 : ox*4+4 : ox*4+4]
			for x := x0; x < x1; x++ {
				p := row[x*4 : x*4+4 : x*4+4]
				s[0] += uint32(p[0])
				s[1] += uint32(p[1])
				s[2] += uint32(p[2])
				s[3] += uint32(p[3])
			}
		}
	}
	for ox := 0; ox < ow; ox++ {
		n := uint32(len(rows) * (min((ox+1)*k, w) - ox*k))
		d := out[ox*4 : ox*4+4 : ox*4+4]
		for c := range 4 {
			d[c] = uint8((sum[ox*4+c] + n/2) / n)
		}
	}
}

// boxReduceYCbCr averages in YCbCr (an affine map of RGB, so averaging commutes with
// the conversion) straight from the decoder's planes, avoiding a full-size RGBA copy.
func boxReduceYCbCr(m *image.YCbCr, k int) *image.RGBA {
	b := m.Bounds()
	hdiv, vdiv := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hdiv = 2
	case image.YCbCrSubsampleRatio420:
		hdiv, vdiv = 2, 2
	case image.YCbCrSubsampleRatio440:
		vdiv = 2
	case image.YCbCrSubsampleRatio411:
		hdiv = 4
	case image.YCbCrSubsampleRatio410:
		hdiv, vdiv = 4, 2
	}
	ow, oh := ceilDiv(b.Dx(), k), ceilDiv(b.Dy(), k)
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	sum := make([]uint32, ow*3)
	for oy := 0; oy < oh; oy++ {
		clear(sum)
		y0, y1 := b.Min.Y+oy*k, min(b.Min.Y+(oy+1)*k, b.Max.Y)
		for y := y0; y < y1; y++ {
			yrow := m.Y[(y-m.Rect.Min.Y)*m.YStride:]
			crow := (y/vdiv - m.Rect.Min.Y/vdiv) * m.CStride
			cb, cr := m.Cb[crow:], m.Cr[crow:]
			for ox := 0; ox < ow; ox++ {
				x0, x1 := b.Min.X+ox*k, min(b.Min.X+(ox+1)*k, b.Max.X)
				var sy, sb, sr uint32
				for x := x0; x < x1; x++ {
					sy += uint32(yrow[x-m.Rect.Min.X])
					ci := x/hdiv - m.Rect.Min.X/hdiv
					sb += uint32(cb[ci])
					sr += uint32(cr[ci])
				}
				sum[ox*3] += sy
				sum[ox*3+1] += sb
				sum[ox*3+2] += sr
			}
		}
		for ox := 0; ox < ow; ox++ {
			n := uint32((y1 - y0) * (min(b.Min.X+(ox+1)*k, b.Max.X) - (b.Min.X + ox*k)))
			r, g, bl := color.YCbCrToRGB(
				uint8((sum[ox*3]+n/2)/n), uint8((sum[ox*3+1]+n/2)/n), uint8((sum[ox*3+2]+n/2)/n))
			d := dst.Pix[dst.PixOffset(ox, oy):]
			d[0], d[1], d[2], d[3] = r, g, bl, 0xff
		}
	}
	return dst
}
