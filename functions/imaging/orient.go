package imaging

import (
	"image"
)

// Orient returns m turned upright for display according to an EXIF orientation value
// (1-8; anything else is treated as 1). Values 5-8 swap width and height.
func Orient(m *image.RGBA, orientation int) *image.RGBA {
	if orientation < 2 || orientation > 8 {
		return m
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if orientation >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// src maps a destination pixel to the source pixel shown there.
	var src func(x, y int) (int, int)
	switch orientation {
	case 2: // mirrored horizontally
		src = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3: // rotated 180°
		src = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4: // mirrored vertically
		src = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5: // transposed (mirrored across the main diagonal)
		src = func(x, y int) (int, int) { return y, x }
	case 6: // stored rotated 90° counter-clockwise: turn it 90° clockwise
		src = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7: // transversed (mirrored across the anti-diagonal)
		src = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8: // stored rotated 90° clockwise: turn it 90° counter-clockwise
		src = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			sx, sy := src(x, y)
			si := m.PixOffset(b.Min.X+sx, b.Min.Y+sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return dst
}

// OrientedSize is the displayed size of a w×h image with the given orientation.
func OrientedSize(w, h, orientation int) (int, int) {
	if orientation >= 5 && orientation <= 8 {
		return h, w
	}
	return w, h
}
