package labels

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func fill(w, h int, f func(x, y int) color.Color) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, f(x, y))
		}
	}
	return img
}

func solid(w, h int, c color.Color) image.Image {
	return fill(w, h, func(int, int) color.Color { return c })
}

func names(l pipeline.Labels) map[string]float64 {
	m := map[string]float64{}
	for _, x := range l.Labels {
		m[x.Name] = x.Confidence
	}
	return m
}

func TestAnalyze(t *testing.T) {
	sky := color.RGBA{110, 170, 235, 255}
	grass := color.RGBA{70, 140, 50, 255}
	tests := []struct {
		name   string
		img    image.Image
		orient int
		want   []string
		absent []string
	}{
		{"red landscape", solid(300, 200, color.RGBA{220, 30, 30, 255}), 1,
			[]string{"Red", "Landscape", "Colorful", "Low Contrast"}, []string{"Monochrome", "Portrait", "Panorama", "Blue"}},
		{"gray square", solid(100, 100, color.Gray{128}), 1,
			[]string{"Gray", "Square", "Monochrome", "Low Contrast"}, []string{"Colorful", "Bright", "Dark"}},
		{"black night portrait", solid(100, 200, color.RGBA{10, 10, 20, 255}), 1,
			[]string{"Black", "Dark", "Portrait", "Monochrome"}, []string{"Bright", "Landscape"}},
		{"white bright", solid(120, 100, color.White), 1,
			[]string{"White", "Bright", "Landscape"}, []string{"Dark"}},
		{"checkerboard", fill(200, 200, func(x, y int) color.Color {
			if (x/10+y/10)%2 == 0 {
				return color.Black
			}
			return color.White
		}), 1, []string{"Black", "White", "High Contrast", "Monochrome", "Square"}, []string{"Low Contrast", "Gray"}},
		{"panorama", solid(1000, 300, color.RGBA{240, 215, 40, 255}), 1,
			[]string{"Yellow", "Panorama", "Landscape"}, nil},
		{"sky over grass", fill(400, 300, func(x, y int) color.Color {
			if y < 150 {
				return sky
			}
			return grass
		}), 1, []string{"Blue", "Green", "Sky-like Region", "Vegetation-like Region"}, []string{"Monochrome"}},
		{"rotated by exif", solid(300, 200, color.Gray{90}), 6, []string{"Portrait"}, []string{"Landscape"}},
		{"grass only, no sky", solid(300, 200, grass), 1, []string{"Vegetation-like Region", "Green"}, []string{"Sky-like Region"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Analyze(tc.img, tc.orient)
			m := names(got)
			for _, n := range tc.want {
				if _, ok := m[n]; !ok {
					t.Errorf("missing %q in %+v (%v)", n, got.Labels, measure(tc.img))
				}
			}
			for _, n := range tc.absent {
				if _, ok := m[n]; ok {
					t.Errorf("unexpected %q in %+v (%v)", n, got.Labels, measure(tc.img))
				}
			}
			for i, l := range got.Labels {
				if l.Confidence < 50 || l.Confidence > 99 {
					t.Errorf("%s confidence %v out of [50,99]", l.Name, l.Confidence)
				}
				if i > 0 && got.Labels[i-1].Confidence < l.Confidence {
					t.Errorf("labels not sorted by confidence: %+v", got.Labels)
				}
			}
			if got.Source != "local" {
				t.Errorf("source = %q", got.Source)
			}
		})
	}
}

func TestAnalyzeDeterministicAndShareDriven(t *testing.T) {
	// 70% blue, 30% red: blue more confident than red.
	img := fill(100, 100, func(x, y int) color.Color {
		if x < 70 {
			return color.RGBA{40, 90, 210, 255}
		}
		return color.RGBA{210, 40, 40, 255}
	})
	a, b := Analyze(img, 1), Analyze(img, 1)
	if len(a.Labels) != len(b.Labels) {
		t.Fatalf("not deterministic: %+v vs %+v", a, b)
	}
	for i := range a.Labels {
		if a.Labels[i].Name != b.Labels[i].Name || a.Labels[i].Confidence != b.Labels[i].Confidence {
			t.Fatalf("not deterministic: %+v vs %+v", a, b)
		}
	}
	m := names(a)
	if !(m["Blue"] > m["Red"]) || m["Red"] == 0 {
		t.Errorf("want Blue > Red > 0, got %+v", a.Labels)
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	if got := Analyze(image.NewRGBA(image.Rect(0, 0, 0, 0)), 1); len(got.Labels) != 0 {
		t.Errorf("empty image gave %+v", got)
	}
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAnalyzeBytes(t *testing.T) {
	red := encodePNG(t, solid(64, 32, color.RGBA{220, 30, 30, 255}))
	lim := imaging.Limits{MaxBytes: 1024, MaxPixels: 1 << 20, MaxSide: 4096}
	a, err := AnalyzeBytes(red, lim, 1)
	if err != nil {
		t.Fatal(err)
	}
	if names(a)["Red"] == 0 || names(a)["Landscape"] == 0 {
		t.Errorf("labels miss Red or Landscape: %+v", a)
	}
	// Orientation 6 shows the 64×32 image as 32×64.
	if b, err := AnalyzeBytes(red, lim, 6); err != nil || names(b)["Portrait"] == 0 {
		t.Errorf("turned: %+v, %v", b, err)
	}
	for name, tc := range map[string]struct {
		data []byte
		want any
	}{
		"empty": {[]byte{}, &pipeline.NotAnImageError{}},
		"text":  {[]byte("hello, not an image"), &pipeline.NotAnImageError{}},
		"big":   {bytes.Repeat([]byte{0}, 2048), &pipeline.ImageTooLargeError{}},
	} {
		_, err := AnalyzeBytes(tc.data, lim, 1)
		if err == nil || !strings.Contains(typeName(err), typeName(tc.want)) {
			t.Errorf("%s: err = %v (%T), want %T", name, err, err, tc.want)
		}
	}
}

func typeName(v any) string {
	s := strings.TrimPrefix(strings.TrimPrefix(fmtType(v), "*"), "pipeline.")
	return s
}

// opaque hides an image's concrete type, so measure takes its generic At path.
type opaque struct{ image.Image }

// The byte-reading fast paths give exactly what the generic path gives.
func TestMeasureFastPathsMatchAt(t *testing.T) {
	grad := fill(97, 61, func(x, y int) color.Color {
		return color.RGBA{uint8(x * 255 / 96), uint8(y * 255 / 60), uint8((x*7 + y*13) % 256), 255}
	})
	gray := image.NewGray(image.Rect(0, 0, 50, 40))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 37)
	}
	for name, img := range map[string]image.Image{"rgba": grad, "gray": gray} {
		fast, slow := measure(img), measure(opaque{img})
		if fast.String() != slow.String() || fmt.Sprint(fast.colour) != fmt.Sprint(slow.colour) || fast.meanL != slow.meanL || fast.stdL != slow.stdL || fast.meanC != slow.meanC {
			t.Errorf("%s: fast %v %v, generic %v %v", name, fast, fast.colour, slow, slow.colour)
		}
	}
}
