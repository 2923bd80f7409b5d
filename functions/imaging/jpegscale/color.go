package jpegscale

import (
	"image"
)

// finish runs the deferred IDCTs of a progressive file and converts the planes to
// the output image.
func (d *decoder) finish() (image.Image, error) {
	for _, c := range d.comps {
		if c.plane == nil {
			return nil, formatErr("component %d has no scan", c.id)
		}
	}
	if d.progressive {
		var blk [64]int32
		for i := range d.comps {
			c := &d.comps[i]
			q := &d.quant[c.tq]
			need := c.need
			for by := 0; by < c.bh; by++ {
				for bx := 0; bx < c.bw; bx++ {
					co := c.coefs[(by*c.bw+bx)*c.ncoef:]
					last := 0
					for z := 0; z <= need; z++ {
						blk[z] = int32(co[z])
						if co[z] != 0 {
							last = z
						}
					}
					idct(c.kx, c.ky, &blk, q, last, c.plane[by*c.ky*c.stride+bx*c.kx:], c.stride)
				}
			}
			c.coefs = nil
		}
	}
	w := (d.width + d.denom - 1) / d.denom
	h := (d.height + d.denom - 1) / d.denom
	r := image.Rect(0, 0, w, h)
	if len(d.comps) == 1 {
		c := &d.comps[0]
		img := image.NewGray(r)
		for y := range h {
			copy(img.Pix[y*img.Stride:y*img.Stride+w], c.plane[y*c.stride:])
		}
		return img, nil
	}
	img := image.NewRGBA(r)
	switch {
	case len(d.comps) == 3 && d.isRGB():
		d.convert(img, rgbRow)
	case len(d.comps) == 3:
		d.convert(img, ycbcrRow)
	case d.adobe && d.adobeXform == 2:
		d.convert(img, ycckRow)
	default:
		d.convert(img, cmykRow)
	}
	return img, nil
}

func (d *decoder) isRGB() bool {
	if d.adobe {
		return d.adobeXform == 0
	}
	return !d.jfif && d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}

// rowFunc converts one output row; src holds each component's samples already
// replicated to the output width.
type rowFunc func(dst []uint8, src [4][]uint8)

// convert expands each component's row to output resolution (replicating
// subsampled samples) and hands the rows to fn.
func (d *decoder) convert(img *image.RGBA, fn rowFunc) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var tmp [4][]uint8
	var src [4][]uint8
	for i, c := range d.comps {
		if c.fx != 1 {
			tmp[i] = make([]uint8, w)
		}
	}
	for y := range h {
		for i := range d.comps {
			c := &d.comps[i]
			row := c.plane[(y/c.fy)*c.stride:]
			switch c.fx {
			case 1:
				src[i] = row[:w]
			case 2:
				t := tmp[i]
				for x := 0; x+1 < w; x += 2 {
					v := row[x>>1]
					t[x], t[x+1] = v, v
				}
				if w&1 == 1 {
					t[w-1] = row[(w-1)>>1]
				}
				src[i] = t
			default:
				t := tmp[i]
				for x := range t {
					t[x] = row[x/c.fx]
				}
				src[i] = t
			}
		}
		fn(img.Pix[y*img.Stride:y*img.Stride+4*w], src)
	}
}

func rgbRow(dst []uint8, s [4][]uint8) {
	r, g, b := s[0], s[1][:len(s[0])], s[2][:len(s[0])]
	for x := range r {
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0], p[1], p[2], p[3] = r[x], g[x], b[x], 255
	}
}

// ycbcrRow is the JFIF conversion in 16-bit fixed point (the constants
// image/color uses, so results match Go's own decoder).
func ycbcrRow(dst []uint8, s [4][]uint8) {
	ys, cbs, crs := s[0], s[1][:len(s[0])], s[2][:len(s[0])]
	for x := range ys {
		y := int32(ys[x]) << 16
		cb, cr := int32(cbs[x])-128, int32(crs[x])-128
		r := (y + 91881*cr + 1<<15) >> 16
		g := (y - 22554*cb - 46802*cr + 1<<15) >> 16
		b := (y + 116130*cb + 1<<15) >> 16
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0], p[1], p[2], p[3] = clamp(r), clamp(g), clamp(b), 255
	}
}

// Adobe CMYK is stored inverted (255 = no ink), so RGB = stored·K/255.
func cmykRow(dst []uint8, s [4][]uint8) {
	c, m, yy, k := s[0], s[1][:len(s[0])], s[2][:len(s[0])], s[3][:len(s[0])]
	for x := range c {
		kk := uint32(k[x])
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0] = uint8((uint32(c[x])*kk + 127) / 255)
		p[1] = uint8((uint32(m[x])*kk + 127) / 255)
		p[2] = uint8((uint32(yy[x])*kk + 127) / 255)
		p[3] = 255
	}
}

// YCCK: the first three channels are YCbCr-coded (255 - stored CMY).
func ycckRow(dst []uint8, s [4][]uint8) {
	ys, cbs, crs, k := s[0], s[1][:len(s[0])], s[2][:len(s[0])], s[3][:len(s[0])]
	for x := range ys {
		y := int32(ys[x]) << 16
		cb, cr := int32(cbs[x])-128, int32(crs[x])-128
		r := 255 - uint32(clamp((y+91881*cr+1<<15)>>16))
		g := 255 - uint32(clamp((y-22554*cb-46802*cr+1<<15)>>16))
		b := 255 - uint32(clamp((y+116130*cb+1<<15)>>16))
		kk := uint32(k[x])
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0] = uint8((r*kk + 127) / 255)
		p[1] = uint8((g*kk + 127) / 255)
		p[2] = uint8((b*kk + 127) / 255)
		p[3] = 255
	}
}
