package imaging_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// pngHeader is a PNG signature and an IHDR chunk declaring w×h, with a valid CRC and
// no image data: what a decompression bomb looks like before its pixels.
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 6, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// gifHeader is a GIF header whose logical screen is w×h.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

// webpLossless is a minimal VP8L header declaring w×h (enough for DecodeConfig).
func webpLossless(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14
	vp8l := append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, bits)...)
	b := []byte("RIFF")
	b = binary.LittleEndian.AppendUint32(b, uint32(4+8+len(vp8l)+len(vp8l)%2))
	b = append(b, "WEBPVP8L"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vp8l)))
	b = append(b, vp8l...)
	if len(vp8l)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func heicHeader() []byte {
	b := binary.BigEndian.AppendUint32(nil, 24)
	b = append(b, "ftypheic"...)
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(b, "mif1heic"...)
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, "jpeg"},
		{"png", pngHeader(1, 1), "png"},
		{"gif", gifHeader(1, 1), "gif"},
		{"webp", webpLossless(3, 2), "webp"},
		{"tiff-le", []byte("II*\x00\x08\x00\x00\x00"), "tiff"},
		{"tiff-be", []byte("MM\x00*\x00\x00\x00\x08"), "tiff"},
		{"bmp", append([]byte("BM"), make([]byte, 20)...), "bmp"},
	} {
		got, err := imaging.Sniff(tc.head)
		if err != nil || got != tc.want {
			t.Errorf("%s: Sniff = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for brand, want := range map[string]string{"heic": "heic", "mif1": "heif", "avif": "avif", "heix": "heic", "avis": "avif"} {
		h := append(binary.BigEndian.AppendUint32(nil, 16), "ftyp"+brand+"\x00\x00\x00\x00"...)
		if got, err := imaging.Sniff(h); err != nil || got != want {
			t.Errorf("ftyp %s: Sniff = %q, %v; want %s", brand, got, err, want)
		}
	}
	var ne *pipeline.NotAnImageError
	for _, h := range [][]byte{nil, []byte("hello, world"), {0xFF, 0xD8}, append(binary.BigEndian.AppendUint32(nil, 16), "ftypisom\x00\x00\x00\x00"...)} {
		if _, err := imaging.Sniff(h); !errors.As(err, &ne) {
			t.Errorf("Sniff(%q) err = %v, want NotAnImageError", h, err)
		}
	}
}

func TestDecodeEveryFormat(t *testing.T) {
	src := imagingtest.Photo(64, 48)
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		img, got, err := imaging.DecodeBytes(imagingtest.Encode(t, format, src), imaging.DefaultLimits, 0)
		if err != nil || got != format {
			t.Fatalf("%s: DecodeBytes: %q, %v", format, got, err)
		}
		if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
			t.Errorf("%s: bounds %v", format, img.Bounds())
		}
		cfg, got, err := imaging.DecodeConfig(bytes.NewReader(imagingtest.Encode(t, format, src)), imaging.DefaultLimits)
		if err != nil || got != format || cfg.Width != 64 || cfg.Height != 48 {
			t.Errorf("%s: DecodeConfig = %+v %q %v", format, cfg, got, err)
		}
	}
	cfg, format, err := imaging.DecodeConfig(bytes.NewReader(webpLossless(300, 200)), imaging.DefaultLimits)
	if err != nil || format != "webp" || cfg.Width != 300 || cfg.Height != 200 {
		t.Errorf("webp: DecodeConfig = %+v %q %v", cfg, format, err)
	}
}

func TestBadInputIsTyped(t *testing.T) {
	jpg := imagingtest.Encode(t, "jpeg", imagingtest.Photo(64, 48))
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	garbageJPEG := append([]byte{0xFF, 0xD8, 0xFF}, random...)
	small := imaging.Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4000}
	for _, tc := range []struct {
		name string
		data []byte
		lim  imaging.Limits
		want string
	}{
		{"zero bytes", nil, imaging.DefaultLimits, pipeline.ErrNameNotAnImage},
		{"random bytes", random, imaging.DefaultLimits, pipeline.ErrNameNotAnImage},
		{"text", []byte("<html>not an image</html>"), imaging.DefaultLimits, pipeline.ErrNameNotAnImage},
		{"heic with no meta box", heicHeader(), imaging.DefaultLimits, pipeline.ErrNameUnsupported},
		{"heic cut in its ftyp", heicHeader()[:20], imaging.DefaultLimits, pipeline.ErrNameCorrupt},
		{"truncated jpeg", jpg[:len(jpg)/2], imaging.DefaultLimits, pipeline.ErrNameCorrupt},
		{"jpeg header only", jpg[:20], imaging.DefaultLimits, pipeline.ErrNameCorrupt},
		{"garbage after jpeg magic", garbageJPEG, imaging.DefaultLimits, pipeline.ErrNameCorrupt},
		{"png bomb", pngHeader(100000, 100000), imaging.DefaultLimits, pipeline.ErrNameTooLarge},
		{"png wide", pngHeader(30000, 1), imaging.DefaultLimits, pipeline.ErrNameTooLarge},
		{"gif bomb", gifHeader(65535, 65535), imaging.DefaultLimits, pipeline.ErrNameTooLarge},
		{"png truncated after header", pngHeader(100, 100), imaging.DefaultLimits, pipeline.ErrNameCorrupt},
		{"over byte limit", jpg, imaging.Limits{MaxBytes: 100}, pipeline.ErrNameTooLarge},
		{"over pixel limit", imagingtest.Encode(t, "png", imagingtest.Photo(2000, 600)), small, pipeline.ErrNameTooLarge},
		{"over side limit", imagingtest.Encode(t, "png", imagingtest.Photo(4001, 2)), small, pipeline.ErrNameTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := imaging.DecodeBytes(tc.data, tc.lim, 80)
			if got := errName(err); got != tc.want {
				t.Fatalf("err = %v (%s), want %s", err, got, tc.want)
			}
		})
	}
}

// errName is the name the state machine would see for err.
func errName(err error) string {
	switch err.(type) {
	case nil:
		return ""
	case *pipeline.NotAnImageError:
		return pipeline.ErrNameNotAnImage
	case *pipeline.UnsupportedFormatError:
		return pipeline.ErrNameUnsupported
	case *pipeline.CorruptImageError:
		return pipeline.ErrNameCorrupt
	case *pipeline.ImageTooLargeError:
		return pipeline.ErrNameTooLarge
	case *pipeline.TransientError:
		return pipeline.ErrNameTransient
	}
	return "other"
}

func TestBombFailsWithoutAllocating(t *testing.T) {
	data := pngHeader(100000, 100000)
	allocs := testing.AllocsPerRun(5, func() {
		if _, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, 80); errName(err) != pipeline.ErrNameTooLarge {
			t.Fatalf("err = %v", err)
		}
	})
	// A handful of small header allocations, never a pixel buffer (AllocsPerRun
	// counts allocations, so also check the bytes).
	var ms1, ms2 = new(runtimeMem), new(runtimeMem)
	ms1.read()
	_, _, _ = imaging.DecodeBytes(data, imaging.DefaultLimits, 80)
	ms2.read()
	if d := ms2.total - ms1.total; d > 1<<20 {
		t.Errorf("decoding a bomb header allocated %d bytes", d)
	}
	if allocs > 100 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestFitSize(t *testing.T) {
	for _, tc := range []struct{ w, h, box, ww, wh int }{
		{4000, 3000, 80, 80, 60},
		{3000, 4000, 80, 60, 80},
		{1000, 10, 80, 80, 1},
		{10, 1000, 80, 1, 80},
		{50, 30, 80, 50, 30},
		{80, 80, 80, 80, 80},
		{4608, 1976, 80, 80, 34},
	} {
		if w, h := imaging.FitSize(tc.w, tc.h, tc.box); w != tc.ww || h != tc.wh {
			t.Errorf("FitSize(%d,%d,%d) = %d,%d want %d,%d", tc.w, tc.h, tc.box, w, h, tc.ww, tc.wh)
		}
	}
}

var (
	red   = color.RGBA{220, 20, 20, 255}
	green = color.RGBA{20, 200, 20, 255}
	blue  = color.RGBA{20, 20, 220, 255}
	black = color.RGBA{0, 0, 0, 255}
)

// TestOrient checks where the stored image's corners land, per the EXIF definition
// of each value (which stored corner is shown top-left and top-right), written out
// independently of the implementation's mapping.
func TestOrient(t *testing.T) {
	src := imagingtest.Corners(40, 20, red, green, blue, black) // TL, TR, BL, BR as stored
	type corners struct{ tl, tr color.RGBA }
	want := map[int]corners{
		1: {red, green},   // row 0 top, column 0 left
		2: {green, red},   // row 0 top, column 0 right
		3: {black, blue},  // row 0 bottom, column 0 right
		4: {blue, black},  // row 0 bottom, column 0 left
		5: {red, blue},    // row 0 left, column 0 top
		6: {blue, red},    // row 0 right, column 0 top
		7: {black, green}, // row 0 right, column 0 bottom
		8: {green, black}, // row 0 left, column 0 bottom
	}
	for o := 1; o <= 8; o++ {
		m := imaging.Orient(src, o)
		w, h := m.Bounds().Dx(), m.Bounds().Dy()
		if ww, wh := imaging.OrientedSize(40, 20, o); w != ww || h != wh || (o >= 5) != (w == 20) {
			t.Errorf("orientation %d: size %dx%d", o, w, h)
		}
		if got := m.At(0, 0); got != color.Color(want[o].tl) {
			t.Errorf("orientation %d: top-left %v, want %v", o, got, want[o].tl)
		}
		if got := m.At(w-1, 0); got != color.Color(want[o].tr) {
			t.Errorf("orientation %d: top-right %v, want %v", o, got, want[o].tr)
		}
	}
}

func TestFitFlattensAlphaOntoWhite(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 200, 100)) // fully transparent
	out := imaging.Fit(m, 80)
	if out.Bounds().Dx() != 80 || out.Bounds().Dy() != 40 {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if c := out.RGBAAt(40, 20); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("transparent became %v, want white", c)
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	img, _, err := imaging.DecodeBytes(imagingtest.Encode(t, "jpeg", imagingtest.Photo(640, 480)), imaging.DefaultLimits, 80)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := imaging.EncodeJPEG(imaging.Fit(img, 80))
	b, _ := imaging.EncodeJPEG(imaging.Fit(img, 80))
	if !bytes.Equal(a, b) {
		t.Error("same input gave different bytes")
	}
	if bytes.Contains(a, []byte("Exif")) || bytes.Contains(a, []byte("JFIF")) {
		t.Error("thumbnail carries metadata")
	}
}

// TestFitQuality compares the fast path (box pre-reduction, then Catmull-Rom) with a
// reference: Catmull-Rom over the full-resolution image in one pass (x/image widens
// the kernel when shrinking, so this is a proper antialiased resampling).
func TestFitQuality(t *testing.T) {
	src := imagingtest.Photo(2400, 1600)
	refs := map[int]*image.RGBA{}
	for _, decoded := range []struct {
		name string
		img  image.Image
	}{
		{"rgba", src},
		{"ycbcr", mustDecode(t, imagingtest.JPEG(src, 95))},
		{"reduced", src}, // DCT-domain reduced JPEG decode, then Resize
	} {
		for _, box := range []int{80, 640} {
			got := imaging.Fit(decoded.img, box)
			if decoded.name == "reduced" {
				tw, th := imaging.FitSize(2400, 1600, box)
				reduced, _, err := imaging.DecodeBytes(imagingtest.JPEG(src, 95), imaging.DefaultLimits, box)
				if err != nil {
					t.Fatal(err)
				}
				got = imaging.Resize(reduced, tw, th)
			}
			ref, ok := refs[box]
			if !ok {
				ref = image.NewRGBA(got.Bounds())
				draw.CatmullRom.Scale(ref, ref.Bounds(), src, src.Bounds(), draw.Src, nil)
				refs[box] = ref
			}
			psnr := imagingtest.PSNR(got, ref)
			t.Logf("%s → %v: PSNR %.1f dB", decoded.name, got.Bounds().Size(), psnr)
			if psnr < 30 {
				t.Errorf("%s box %d: PSNR %.1f dB < 30", decoded.name, box, psnr)
			}
		}
	}
}

func mustDecode(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, 0)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF})
	f.Add(heicHeader())
	f.Add(pngHeader(1, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		format, err := imaging.Sniff(data)
		if (format == "") == (err == nil) {
			t.Fatalf("Sniff = %q, %v", format, err)
		}
	})
}

func FuzzDecodeBytes(f *testing.F) {
	small := imagingtest.Photo(16, 12)
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		f.Add(imagingtest.Encode(f, format, small))
	}
	f.Add(webpLossless(4, 4))
	f.Add(pngHeader(100000, 100000))
	lim := imaging.Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 20, MaxSide: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, _, err := imaging.DecodeBytes(data, lim, 16)
		if err != nil {
			if errName(err) == "other" {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		_ = imaging.Fit(img, 16)
	})
}

func BenchmarkThumbnail12MP(b *testing.B) {
	data := imagingtest.JPEG(imagingtest.Photo(4000, 3000), 90)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		img, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, 80)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := imaging.EncodeJPEG(imaging.Fit(img, 80)); err != nil {
			b.Fatal(err)
		}
	}
}
