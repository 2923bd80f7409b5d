package labels

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// analysisSide is the longest side the local labeler looks at: colour shares and
// brightness need no more.
const analysisSide = 256

// AnalyzeBytes labels the image held in data, deterministically, from its pixels
// alone: a decode at the size the analysis needs (checked against lim first), then
// Analyze. Errors are the pipeline's types.
func AnalyzeBytes(data []byte, lim imaging.Limits, orientation int) (pipeline.Labels, error) {
	img, _, err := imaging.DecodeBytes(data, lim, analysisSide)
	if err != nil {
		return pipeline.Labels{}, err
	}
	return Analyze(img, orientation), nil
}

// Analyze computes the local labels of img. orientation is the EXIF value (5-8 swap
// width and height); anything else is taken as 1.
func Analyze(img image.Image, orientation int) pipeline.Labels {
	res := pipeline.Labels{Labels: []pipeline.Label{}, Source: "local"}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return res
	}
	st := measure(img)
	add := func(name string, conf float64, parents ...string) {
		res.Labels = append(res.Labels, pipeline.Label{Name: name, Confidence: round1(clamp(conf, 50, 99)), Parents: parents})
	}

	// Dominant colours: the named colours covering a noticeable share of the image.
	type share struct {
		name string
		f    float64
	}
	var shares []share
	for i, n := range st.colour {
		if f := float64(n) / float64(st.n); f >= 0.12 {
			shares = append(shares, share{palette[i].name, f})
		}
	}
	sort.Slice(shares, func(i, j int) bool {
		if shares[i].f != shares[j].f {
			return shares[i].f > shares[j].f
		}
		return shares[i].name < shares[j].name
	})
	if len(shares) > 3 {
		shares = shares[:3]
	}
	for _, s := range shares {
		add(s.name, 50+49*math.Min(1, (s.f-0.12)/0.5), "Color")
	}

	switch {
	case st.meanL >= 0.75:
		add("Bright", 60+39*math.Min(1, (st.meanL-0.75)/0.2), "Lighting")
	case st.meanL <= 0.3:
		add("Dark", 60+39*math.Min(1, (0.3-st.meanL)/0.2), "Lighting")
	}
	chromatic := float64(st.chromatic) / float64(st.n)
	switch {
	case chromatic < 0.02:
		add("Monochrome", 70+29*(1-chromatic/0.02), "Color")
	case st.meanC >= 0.1:
		add("Colorful", 60+39*math.Min(1, (st.meanC-0.1)/0.1), "Color")
	}
	switch {
	case st.stdL >= 0.25:
		add("High Contrast", 60+39*math.Min(1, (st.stdL-0.25)/0.1), "Lighting")
	case st.stdL <= 0.06:
		add("Low Contrast", 60+39*math.Min(1, (0.06-st.stdL)/0.06), "Lighting")
	}

	if orientation >= 5 && orientation <= 8 {
		w, h = h, w
	}
	// The shape is measured exactly, hence the top confidence.
	r := float64(w) / float64(h)
	switch {
	case r > 1.05:
		add("Landscape", 99, "Shape")
	case r < 1/1.05:
		add("Portrait", 99, "Shape")
	default:
		add("Square", 99, "Shape")
	}
	if r >= 2 || r <= 0.5 {
		add("Panorama", 99, "Shape")
	}

	// Colour regions, named for their colour, not for what they might be.
	if st.topN > 0 {
		if f := float64(st.skyTop) / float64(st.topN); f >= 0.35 {
			add("Sky-like Region", 50+40*math.Min(1, (f-0.35)/0.5), "Color Region")
		}
	}
	if f := float64(st.vegetation) / float64(st.n); f >= 0.25 {
		add("Vegetation-like Region", 50+40*math.Min(1, (f-0.25)/0.5), "Color Region")
	}

	sort.SliceStable(res.Labels, func(i, j int) bool {
		if res.Labels[i].Confidence != res.Labels[j].Confidence {
			return res.Labels[i].Confidence > res.Labels[j].Confidence
		}
		return res.Labels[i].Name < res.Labels[j].Name
	})
	return res
}

type stats struct {
	n, topN            int
	meanL, stdL, meanC float64
	chromatic          int // samples with visible colour
	colour             []int
	skyTop, vegetation int
}

// measure samples img on a grid of at most analysisSide² points in OKLab, a
// perceptual space where distances and lightness match what people see.
func measure(img image.Image) stats {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	step := max(1, (max(w, h)+analysisSide-1)/analysisSide)
	st := stats{colour: make([]int, len(palette))}
	labs := make([]oklab, len(palette))
	for i, p := range palette {
		labs[i] = fromRGB(uint32(p.r)*0x101, uint32(p.g)*0x101, uint32(p.b)*0x101)
	}
	hues := make([]float64, len(palette))
	for i := range labs {
		hues[i] = hueDeg(labs[i])
	}
	px := pixelsOf(img)
	var sumL, sumL2, sumC float64
	for y := b.Min.Y; y < b.Max.Y; y += step {
		top := y-b.Min.Y < h/3
		for x := b.Min.X; x < b.Max.X; x += step {
			c := px(x, y)
			st.n++
			sumL += c.L
			sumL2 += c.L * c.L
			chroma := math.Hypot(c.A, c.B)
			sumC += chroma
			if chroma >= 0.04 {
				st.chromatic++
			}
			hue := hueDeg(c)
			st.colour[nearest(c, chroma, hue, labs, hues)]++
			if top {
				st.topN++
				if c.L >= 0.55 && chroma >= 0.03 && hue >= 200 && hue <= 275 {
					st.skyTop++
				}
			}
			if c.L >= 0.25 && c.L <= 0.85 && chroma >= 0.04 && hue >= 110 && hue <= 165 {
				st.vegetation++
			}
		}
	}
	n := float64(st.n)
	st.meanL, st.meanC = sumL/n, sumC/n
	st.stdL = math.Sqrt(math.Max(0, sumL2/n-st.meanL*st.meanL))
	return st
}

type oklab struct{ L, A, B float64 }

// fromRGB converts 16-bit sRGB (as image/color gives it) to OKLab.
func fromRGB(r, g, b uint32) oklab {
	return fromLinear(linear(r), linear(g), linear(b))
}

// linear is the sRGB transfer function inverted, for a 16-bit value.
func linear(v uint32) float64 {
	c := float64(v) / 0xffff
	if c <= 0.04045 {
		return c / 12.92
	}
	return math.Pow((c+0.055)/1.055, 2.4)
}

// linear8 is linear for every 8-bit value (v*0x101): most decoded images are
// 8-bit, and a table turns three math.Pow calls per sample into loads with the
// same results.
var linear8 = func() (t [256]float64) {
	for i := range t {
		t[i] = linear(uint32(i) * 0x101)
	}
	return t
}()

func fromLinear(rl, gl, bl float64) oklab {
	l := math.Cbrt(0.4122214708*rl + 0.5363325363*gl + 0.0514459929*bl)
	m := math.Cbrt(0.2119034982*rl + 0.6806995451*gl + 0.1073969566*bl)
	s := math.Cbrt(0.0883024619*rl + 0.2817188376*gl + 0.6299787005*bl)
	return oklab{
		L: 0.2104542553*l + 0.7936177850*m - 0.0040720468*s,
		A: 1.9779984951*l - 2.4285922050*m + 0.4505937099*s,
		B: 0.0259040371*l + 0.7827717662*m - 0.8086757660*s,
	}
}

// pixelsOf returns img's colour at (x, y) in OKLab, reading the 8-bit images the
// decoders give (RGBA, Gray) straight from their pixel bytes; others go through
// At, as before. Both give the same values for the same pixels.
func pixelsOf(img image.Image) func(x, y int) oklab {
	switch m := img.(type) {
	case *image.RGBA:
		return func(x, y int) oklab {
			p := m.Pix[m.PixOffset(x, y):]
			return fromLinear(linear8[p[0]], linear8[p[1]], linear8[p[2]])
		}
	case *image.Gray:
		return func(x, y int) oklab {
			v := linear8[m.Pix[m.PixOffset(x, y)]]
			return fromLinear(v, v, v)
		}
	}
	return func(x, y int) oklab {
		r, g, b, _ := img.At(x, y).RGBA()
		return fromRGB(r, g, b)
	}
}

type named struct {
	name    string
	r, g, b uint8
}

// palette is the small set of colour names the local labeler uses. The first three
// are achromatic and chosen by lightness alone.
var palette = []named{
	{"Black", 0, 0, 0}, {"Gray", 128, 128, 128}, {"White", 255, 255, 255},
	{"Red", 210, 40, 40}, {"Orange", 240, 140, 30}, {"Yellow", 240, 215, 40},
	{"Green", 60, 160, 60}, {"Teal", 0, 150, 150}, {"Blue", 40, 90, 210},
	{"Purple", 130, 60, 170}, {"Pink", 240, 130, 180}, {"Brown", 130, 80, 40},
}

// nearest returns the palette index closest to c, whose chroma and hue are given
// (hues holds the palette's).
func nearest(c oklab, chroma, hue float64, labs []oklab, hues []float64) int {
	switch {
	case c.L < 0.22:
		return 0 // so dark that people call it black whatever its hue
	case chroma < 0.04:
		switch {
		case c.L < 0.35:
			return 0
		case c.L > 0.88:
			return 2
		default:
			return 1
		}
	}
	best, bestD := 3, math.Inf(1)
	for i := 3; i < len(palette); i++ {
		p := labs[i]
		// A colour's name follows its hue first; lightness separates brown from
		// orange and pink from red.
		dh := math.Abs(hue - hues[i])
		if dh > 180 {
			dh = 360 - dh
		}
		d := sq(dh/60) + 0.5*sq((c.L-p.L)/0.3)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// hueDeg is the OKLab hue angle in degrees, 0-360.
func hueDeg(c oklab) float64 { return math.Mod(math.Atan2(c.B, c.A)*180/math.Pi+360, 360) }

func sq(v float64) float64 { return v * v }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// String is for debugging and test failure messages.
func (s stats) String() string {
	return fmt.Sprintf("n=%d meanL=%.3f stdL=%.3f meanC=%.3f chromatic=%d sky=%d/%d veg=%d", s.n, s.meanL, s.stdL, s.meanC, s.chromatic, s.skyTop, s.topN, s.vegetation)
}
