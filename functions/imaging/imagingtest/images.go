package imagingtest

import (
	"image"
	"image/color"
	"math"
)

// Photo makes a deterministic photo-like image: smooth gradients and soft shapes with
// some fine texture, so resampling quality shows in PSNR without being dominated by
// noise a thumbnail cannot keep.
func Photo(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	for y := 0; y < h; y++ {
		fy := float64(y) / fh
		for x := 0; x < w; x++ {
			fx := float64(x) / fw
			// Sky-to-ground gradient, a soft "sun", and a gentle wave texture.
			r := 60 + 150*fy + 40*math.Sin(fx*6.3)
			g := 90 + 100*(1-fy) + 30*math.Cos(fx*4.1+fy*3)
			b := 200 - 120*fy
			dx, dy := fx-0.7, fy-0.3
			sun := 120 * math.Exp(-(dx*dx+dy*dy)*40)
			tex := 12 * math.Sin(float64(x)*0.9) * math.Sin(float64(y)*0.7) // fine detail
			i := m.PixOffset(x, y)
			m.Pix[i+0] = clamp(r + sun + tex)
			m.Pix[i+1] = clamp(g + sun*0.8 + tex)
			m.Pix[i+2] = clamp(b + sun*0.3 + tex)
			m.Pix[i+3] = 0xff
		}
	}
	return m
}

func clamp(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// Corners is a w×h mid-grey image with solid marker blocks (a quarter of each side)
// in its four corners: tl, tr, bl, br.
func Corners(w, h int, tl, tr, bl, br color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	bw, bh := w/4, h/4
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{128, 128, 128, 255}
			switch {
			case x < bw && y < bh:
				c = tl
			case x >= w-bw && y < bh:
				c = tr
			case x < bw && y >= h-bh:
				c = bl
			case x >= w-bw && y >= h-bh:
				c = br
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// PSNR compares two images of the same size over RGB, in dB.
func PSNR(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 0
	}
	var se float64
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*ab.Dx()*ab.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// Near reports whether c is within tol of want in each of R, G and B.
func Near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, w uint8) bool { return math.Abs(float64(int(a>>8)-int(w))) <= float64(tol) }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// Grainy is Photo with hard-edged tiles and sensor-like grain (a fixed-seed
// hash, so deterministic): at quality 90 it compresses like a real 12 MP phone
// photo (about 4-5 MB), which is what benchmarks of entropy decoding need.
func Grainy(w, h int) *image.RGBA {
	m := Photo(w, h)
	for y := 0; y < h; y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+4*w]
		for x := 0; x < w; x++ {
			hsh := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77
			hsh ^= hsh >> 15
			hsh *= 0x2C1B3C6D
			hsh ^= hsh >> 12
			grain := int(hsh&31) - 16
			edge := 0
			if (x/37+y/29)%2 == 0 {
				edge = 30
			}
			p := row[4*x : 4*x+3 : 4*x+3]
			for c := range p {
				p[c] = clamp(float64(int(p[c]) + grain + edge - 15))
			}
		}
	}
	return m
}
