package imaging

import (
	"image"
	"testing"

	"golang.org/x/image/draw"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// The integer resampler matches golang.org/x/image/draw's Catmull-Rom (the filter
// it replaced) to within rounding, shrinking, enlarging and down to one pixel.
func TestCatmullRomMatchesXImage(t *testing.T) {
	src := imagingtest.Grainy(301, 199)
	// A translucent corner checks that premultiplied channels stay within alpha.
	for y := 0; y < 40; y++ {
		for x := 0; x < 40; x++ {
			p := src.Pix[src.PixOffset(x, y):]
			p[0], p[1], p[2], p[3] = p[0]/3, p[1]/3, p[2]/3, 85
		}
	}
	for _, sz := range []image.Point{{150, 99}, {640, 480}, {37, 211}, {1, 1}, {301, 1}, {300, 199}} {
		got := catmullRom(src, sz.X, sz.Y)
		want := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
		draw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), draw.Src, nil)
		maxd := 0
		for i := range got.Pix {
			d := int(got.Pix[i]) - int(want.Pix[i])
			maxd = max(maxd, d, -d)
			if i%4 != 3 && got.Pix[i] > got.Pix[i|3] {
				t.Fatalf("%v: channel above alpha at byte %d", sz, i)
			}
		}
		if psnr := imagingtest.PSNR(got, want); psnr < 45 || maxd > 3 {
			t.Errorf("%v: PSNR %.1f dB, max difference %d against x/image", sz, psnr, maxd)
		}
	}
}

func TestCatmullRomTapsSumToOne(t *testing.T) {
	for _, c := range [][2]int{{80, 1000}, {640, 1000}, {1000, 640}, {1, 7}, {7, 1}, {3, 3}} {
		tp := catmullRomTaps(c[0], c[1])
		for i := range c[0] {
			var s int32
			for _, w := range tp.w[tp.off[i] : tp.off[i]+tp.n[i]] {
				s += w
			}
			if s != 1<<wBits || tp.start[i] < 0 || tp.start[i]+tp.n[i] > c[1] {
				t.Errorf("%v output %d: taps %d+%d sum %d", c, i, tp.start[i], tp.n[i], s)
			}
		}
	}
}

func BenchmarkResize1000To640(b *testing.B) {
	src := imagingtest.Grainy(1000, 750)
	b.ReportAllocs()
	for b.Loop() {
		Resize(src, 640, 480)
	}
}

func BenchmarkResize1000To80(b *testing.B) {
	src := imagingtest.Grainy(1000, 750)
	b.ReportAllocs()
	for b.Loop() {
		Resize(src, 80, 60)
	}
}

func BenchmarkXImageCatmullRom1000To640(b *testing.B) {
	src := imagingtest.Grainy(1000, 750)
	for b.Loop() {
		dst := image.NewRGBA(image.Rect(0, 0, 640, 480))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	}
}
