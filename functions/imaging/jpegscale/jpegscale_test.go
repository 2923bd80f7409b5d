package jpegscale

import (
	"github.com/imagepipe/imagepipe/functions/testkit"

	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// photo draws photographic-looking content: smooth gradients, noise, hard edges
// and a disc, so every frequency band and both chroma channels carry signal.
func photo(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy, rad := float64(w)*0.6, float64(h)*0.4, float64(min(w, h))/4
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 200*fx + 30*math.Sin(fy*9)
			g := 60 + 150*fy
			b := 120 + 100*math.Sin(fx*5+fy*3)
			if (x/37+y/29)%2 == 0 { // hard edges
				r, g = g, r
			}
			if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy < rad*rad {
				r, g, b = 240, 220, 40
			}
			n := rng.NormFloat64() * 6
			img.Pix[y*img.Stride+4*x+0] = clamp(int32(r + n))
			img.Pix[y*img.Stride+4*x+1] = clamp(int32(g + n))
			img.Pix[y*img.Stride+4*x+2] = clamp(int32(b + n))
			img.Pix[y*img.Stride+4*x+3] = 255
		}
	}
	return img
}

func encodeGo(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func toGray(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Rect, img, img.Bounds().Min, draw.Src)
	return g
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok {
		return r
	}
	r := image.NewRGBA(img.Bounds())
	draw.Draw(r, r.Rect, img, img.Bounds().Min, draw.Src)
	return r
}

// psnr over the colour channels of two same-sized images.
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("size %v, want %v", a.Bounds().Size(), b.Bounds().Size())
	}
	ra, rb := toRGBA(a), toRGBA(b)
	var se float64
	n := 0
	for y := range ra.Rect.Dy() {
		for x := range ra.Rect.Dx() {
			for c := range 3 {
				d := float64(ra.Pix[y*ra.Stride+4*x+c]) - float64(rb.Pix[y*rb.Stride+4*x+c])
				se += d * d
				n++
			}
		}
	}
	if se == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// boxDown averages d×d cells (clipped at the edges) of a full-size decode.
func boxDown(img image.Image, d int) *image.RGBA {
	src := toRGBA(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	ow, oh := (w+d-1)/d, (h+d-1)/d
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for oy := range oh {
		for ox := range ow {
			var s [3]int
			n := 0
			for y := oy * d; y < min(h, oy*d+d); y++ {
				for x := ox * d; x < min(w, ox*d+d); x++ {
					for c := range 3 {
						s[c] += int(src.Pix[y*src.Stride+4*x+c])
					}
					n++
				}
			}
			for c := range 3 {
				out.Pix[oy*out.Stride+4*ox+c] = uint8((s[c] + n/2) / n)
			}
			out.Pix[oy*out.Stride+4*ox+3] = 255
		}
	}
	return out
}

// checkAllScales compares a decode at every scale with image/jpeg's full decode of
// refData (the same coefficients; nil means data itself).
func checkAllScales(t *testing.T, data, refData []byte, gray bool) {
	t.Helper()
	if refData == nil {
		refData = data
	}
	ref, err := jpeg.Decode(bytes.NewReader(refData))
	if err != nil {
		t.Fatalf("image/jpeg: %v", err)
	}
	for _, denom := range []int{1, 2, 4, 8} {
		img, err := DecodeScale(data, denom)
		if err != nil {
			t.Fatalf("1/%d: %v", denom, err)
		}
		if _, isGray := img.(*image.Gray); isGray != gray {
			t.Fatalf("1/%d: got %T", denom, img)
		}
		var p float64
		want := 30.0
		if denom == 1 {
			p, want = psnr(t, img, ref), 45
		} else {
			p = psnr(t, img, boxDown(ref, denom))
		}
		t.Logf("1/%d: %v PSNR %.1f dB", denom, img.Bounds().Size(), p)
		if p < want {
			t.Errorf("1/%d: PSNR %.1f dB < %.0f", denom, p, want)
		}
	}
}

func TestBaselineGo(t *testing.T) {
	for _, sz := range []image.Point{{256, 192}, {333, 251}, {17, 9}, {1, 1}} {
		t.Run(fmt.Sprintf("420_%dx%d", sz.X, sz.Y), func(t *testing.T) {
			checkAllScales(t, encodeGo(t, photo(sz.X, sz.Y, 1), 90), nil, false)
		})
		t.Run(fmt.Sprintf("gray_%dx%d", sz.X, sz.Y), func(t *testing.T) {
			checkAllScales(t, encodeGo(t, toGray(photo(sz.X, sz.Y, 2)), 90), nil, true)
		})
	}
	t.Run("q100", func(t *testing.T) { checkAllScales(t, encodeGo(t, photo(200, 150, 3), 100), nil, false) })
	t.Run("q20", func(t *testing.T) { checkAllScales(t, encodeGo(t, photo(200, 150, 4), 20), nil, false) })
}

func TestDecodePicksScale(t *testing.T) {
	data := encodeGo(t, photo(640, 480, 5), 85)
	for _, tc := range []struct{ min, denom int }{{80, 8}, {81, 4}, {160, 4}, {161, 2}, {320, 2}, {321, 1}, {2000, 1}, {0, 8}} {
		img, denom, err := Decode(bytes.NewReader(data), tc.min)
		if err != nil {
			t.Fatal(err)
		}
		if denom != tc.denom || img.Bounds().Dx() != 640/tc.denom {
			t.Errorf("minSide %d: denom %d size %v, want denom %d", tc.min, denom, img.Bounds().Size(), tc.denom)
		}
	}
	cfg, err := DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 640 || cfg.Height != 480 || cfg.ColorModel != color.RGBAModel {
		t.Errorf("DecodeConfig = %+v, %v", cfg, err)
	}
}

func TestUnsupportedAndMalformed(t *testing.T) {
	data := encodeGo(t, photo(64, 48, 6), 80)
	sof := bytes.Index(data, []byte{0xFF, 0xC0})
	patch := func(off int, b byte) []byte {
		p := bytes.Clone(data)
		p[off] = b
		return p
	}
	for name, tc := range map[string]struct {
		data []byte
		typ  any
	}{
		"12-bit":     {patch(sof+4, 12), new(*UnsupportedError)},
		"lossless":   {patch(sof+1, 0xC3), new(*UnsupportedError)},
		"arithmetic": {patch(sof+1, 0xC9), new(*UnsupportedError)},
		"empty":      {nil, new(*FormatError)},
		"not jpeg":   {[]byte("GIF89a......"), new(*FormatError)},
		"truncated":  {data[:len(data)/2], new(*FormatError)},
		"headers":    {data[:sof+8], new(*FormatError)},
	} {
		_, _, err := Decode(bytes.NewReader(tc.data), 10)
		if err == nil || !errors.As(err, tc.typ) {
			t.Errorf("%s: err = %v, want %T", name, err, tc.typ)
		}
	}
	// A huge frame claimed by a tiny file must fail before allocating it.
	huge := patch(sof+5, 0xFF)
	huge[sof+6], huge[sof+7], huge[sof+8] = 0xFF, 0x3F, 0xFF
	if _, _, err := Decode(bytes.NewReader(huge), 10); err == nil {
		t.Error("tiny file with a 65535x16383 frame decoded")
	}
}

func TestZigzag(t *testing.T) {
	seen := map[uint8]bool{}
	for k := 1; k < 64; k++ {
		a, b := unzig[k-1], unzig[k]
		seen[b] = true
		// Consecutive zigzag positions are neighbours (or a diagonal step).
		if dr, dc := int(b>>3)-int(a>>3), int(b&7)-int(a&7); dr*dr > 1 || dc*dc > 1 {
			t.Fatalf("zigzag %d→%d jumps", a, b)
		}
	}
	if len(seen) != 63 || seen[0] {
		t.Fatal("unzig is not a permutation")
	}
}

// Files made with libjpeg-turbo's tools: other samplings, restart markers,
// progressive and arithmetic coding. Skipped when the tools are absent.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testkit.SkipUnlessCI(t, name+" not installed (apt-get install libjpeg-turbo-progs)")
	}
	return p
}

func writePPM(t *testing.T, path string, img *image.RGBA) {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P6\n%d %d\n255\n", w, h)
	for y := range h {
		for x := range w {
			buf.Write(img.Pix[y*img.Stride+4*x : y*img.Stride+4*x+3])
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	return out
}

func TestLibjpegFiles(t *testing.T) {
	cjpeg := tool(t, "cjpeg")
	jpegtran := tool(t, "jpegtran")
	dir := t.TempDir()
	ppm := filepath.Join(dir, "in.ppm")
	writePPM(t, ppm, photo(301, 203, 9))
	cases := map[string][]string{
		"420":          {"-quality", "90", "-sample", "2x2"},
		"444":          {"-quality", "90", "-sample", "1x1"},
		"422":          {"-quality", "90", "-sample", "2x1"},
		"440":          {"-quality", "90", "-sample", "1x2"},
		"411":          {"-quality", "90", "-sample", "4x1"},
		"restart1":     {"-quality", "90", "-restart", "1"},
		"restart3B":    {"-quality", "85", "-sample", "1x1", "-restart", "3B"},
		"gray":         {"-quality", "90", "-grayscale"},
		"optimize":     {"-quality", "75", "-optimize"},
		"progressive":  {"-quality", "90", "-progressive"},
		"prog444":      {"-quality", "95", "-sample", "1x1", "-progressive"},
		"prog-restart": {"-quality", "90", "-progressive", "-restart", "2B"},
		"prog-gray":    {"-quality", "90", "-grayscale", "-progressive"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			data := run(t, nil, cjpeg, append(args, ppm)...)
			// A progressive file must decode exactly like the sequential one with
			// the same coefficients (and image/jpeg rejects some progressive files
			// with restart markers).
			var base []string
			for _, a := range args {
				if a != "-progressive" {
					base = append(base, a)
				}
			}
			ref := run(t, nil, cjpeg, append(base, ppm)...)
			checkAllScales(t, data, ref, name == "gray" || name == "prog-gray")
			if !bytes.Equal(data, ref) {
				a, err1 := DecodeScale(data, 1)
				b, err2 := DecodeScale(ref, 1)
				if err1 != nil || err2 != nil || psnr(t, a, b) != 99 {
					t.Errorf("progressive and sequential decodes differ (%v, %v)", err1, err2)
				}
			}
		})
	}
	t.Run("jpegtran-progressive", func(t *testing.T) {
		base := encodeGo(t, photo(403, 299, 10), 90)
		prog := run(t, base, jpegtran, "-progressive")
		checkAllScales(t, prog, base, false)
	})
	t.Run("arithmetic", func(t *testing.T) {
		data := run(t, nil, cjpeg, "-arithmetic", ppm)
		var ue *UnsupportedError
		if _, err := DecodeScale(data, 8); !errors.As(err, &ue) {
			t.Errorf("err = %v, want UnsupportedError", err)
		}
	})
}

// lastScanData returns the offsets of the entropy-coded data of data's last scan,
// which ends at EOI.
func lastScanData(t *testing.T, data []byte) (start, end int) {
	t.Helper()
	start = -1
	for i := 2; i+1 < len(data); {
		if data[i] != 0xFF {
			i++
			continue
		}
		switch m := data[i+1]; {
		case m == 0x00 || m == 0xFF || m >= 0xD0 && m <= 0xD7:
			i++
		case m == 0xD9:
			if start < 0 {
				t.Fatal("no scan")
			}
			return start, i
		case i+3 >= len(data):
			t.Fatal("truncated segment")
		case m == 0xDA:
			start = i + 2 + (int(data[i+2])<<8 | int(data[i+3]))
			i = start
		default:
			i += 2 + (int(data[i+2])<<8 | int(data[i+3]))
		}
	}
	t.Fatal("no EOI")
	return 0, 0
}

// At 1/8 a progressive file's luma AC scans are skipped, not decoded: scrambling the
// last one (jpegtran's script ends with the luma AC refinement) leaves the 1/8 image
// exactly as it was, while the full-size decode sees the damage.
func TestProgressiveSkipsUnneededACScans(t *testing.T) {
	jpegtran := tool(t, "jpegtran")
	prog := run(t, encodeGo(t, photo(403, 299, 11), 90), jpegtran, "-progressive")
	start, end := lastScanData(t, prog)
	if end-start < 100 {
		t.Fatalf("last scan holds %d bytes", end-start)
	}
	bad := bytes.Clone(prog)
	for i := start; i < end; i++ {
		if bad[i] != 0xFF && (i == start || bad[i-1] != 0xFF) {
			bad[i] ^= 0x5A
			if bad[i] == 0xFF {
				bad[i] = 0x7F
			}
		}
	}
	want, err := DecodeScale(prog, 8)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeScale(bad, 8)
	if err != nil {
		t.Fatalf("1/8 decode read the scrambled AC scan: %v", err)
	}
	if p := psnr(t, got, want); p != 99 {
		t.Errorf("1/8 decode changed (PSNR %.1f dB): it read the luma AC scan", p)
	}
	full, err := DecodeScale(prog, 1)
	if err != nil {
		t.Fatal(err)
	}
	if damaged, err := DecodeScale(bad, 1); err == nil && psnr(t, damaged, full) == 99 {
		t.Error("the scrambled scan changed nothing even at full size: the test scrambled the wrong bytes")
	}
}
