package metadata_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/metadata"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

func photoJPEG(w, h int, x imagingtest.EXIF) []byte {
	return imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(w, h), 85), x.TIFF())
}

func TestJPEGWithEXIF(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		data := photoJPEG(64, 48, imagingtest.EXIF{
			Order: order, Make: "  HMD Global ", Model: "Nokia 8.3 5G", Orientation: 6,
			DateTimeOriginal: "2019:06:01 10:22:31", OffsetTimeOriginal: "+02:00",
			GPS: true, Lat: 43.467, Lon: 11.885,
		})
		md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if md.Format != "jpeg" || md.Width != 64 || md.Height != 48 || md.Orientation != 6 || md.ColorSpace != "YCbCr" || md.Size != int64(len(data)) {
			t.Errorf("%v: image facts %+v", order, md)
		}
		if md.TakenAt != "2019-06-01T10:22:31+02:00" {
			t.Errorf("takenAt %q", md.TakenAt)
		}
		if md.Camera == nil || *md.Camera != (pipeline.Camera{Make: "HMD Global", Model: "Nokia 8.3 5G"}) {
			t.Errorf("camera %+v", md.Camera)
		}
		if md.Location == nil || math.Abs(md.Location.Lat-43.467) > 1e-5 || math.Abs(md.Location.Lon-11.885) > 1e-5 {
			t.Errorf("location %+v", md.Location)
		}
		if md.EXIF["Model"] != "Nokia 8.3 5G" || md.EXIF["DateTimeOriginal"] != "2019:06:01 10:22:31" || md.EXIF["OffsetTimeOriginal"] != "+02:00" || md.EXIF["Orientation"] != "6" {
			t.Errorf("exif %v", md.EXIF)
		}
		if _, ok := md.EXIF["ExifIFDPointer"]; ok {
			t.Error("IFD pointers leak into exif")
		}
	}
}

func TestTakenAtWithoutOffsetIsUTC(t *testing.T) {
	md, err := metadata.ExtractBytes(photoJPEG(8, 8, imagingtest.EXIF{DateTimeOriginal: "2008:10:22 16:28:39"}), imaging.DefaultLimits)
	if err != nil || md.TakenAt != "2008-10-22T16:28:39Z" {
		t.Errorf("takenAt %q, %v", md.TakenAt, err)
	}
	md, _ = metadata.ExtractBytes(photoJPEG(8, 8, imagingtest.EXIF{DateTimeOriginal: "0000:00:00 00:00:00"}), imaging.DefaultLimits)
	if md.TakenAt != "" {
		t.Errorf("blank date gave %q", md.TakenAt)
	}
}

func TestGPSHemispheres(t *testing.T) {
	for _, p := range []pipeline.Location{
		{Lat: 43.4674483, Lon: 11.8851267},  // N, E
		{Lat: -33.8567844, Lon: 151.213108}, // S, E
		{Lat: 40.6892494, Lon: -74.0445004}, // N, W
		{Lat: -22.951916, Lon: -43.2104872}, // S, W
	} {
		md, err := metadata.ExtractBytes(photoJPEG(8, 8, imagingtest.EXIF{GPS: true, Lat: p.Lat, Lon: p.Lon}), imaging.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		// Seconds are stored in thousandths: about 3 cm.
		if md.Location == nil || math.Abs(md.Location.Lat-p.Lat) > 1e-6 || math.Abs(md.Location.Lon-p.Lon) > 1e-6 {
			t.Errorf("%+v: got %+v", p, md.Location)
		}
	}
}

func TestEveryOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		md, err := metadata.ExtractBytes(photoJPEG(8, 8, imagingtest.EXIF{Orientation: o}), imaging.DefaultLimits)
		if err != nil || md.Orientation != o {
			t.Errorf("orientation %d: got %d, %v", o, md.Orientation, err)
		}
	}
	md, _ := metadata.ExtractBytes(photoJPEG(8, 8, imagingtest.EXIF{Orientation: 9}), imaging.DefaultLimits)
	if md.Orientation != 0 {
		t.Errorf("orientation 9 reported as %d", md.Orientation)
	}
}

// TestBrokenEXIF: offsets past the end, IFD cycles and garbage give the image facts
// without EXIF (or with what survived), never an error or a panic.
func TestBrokenEXIF(t *testing.T) {
	good := imagingtest.EXIF{Make: "Canon", Model: "EOS", Orientation: 3, DateTimeOriginal: "2020:01:02 03:04:05", GPS: true, Lat: 1, Lon: 2}.TIFF()
	le := binary.LittleEndian
	mutate := map[string]func([]byte) []byte{
		"ifd0 offset past end": func(b []byte) []byte { le.PutUint32(b[4:], 1<<30); return b },
		"ifd0 cycle": func(b []byte) []byte {
			n := int(le.Uint16(b[8:]))
			le.PutUint32(b[8+2+12*n:], 8) // IFD0's next IFD is itself
			return b
		},
		"two-ifd cycle": func(b []byte) []byte {
			n := int(le.Uint16(b[8:]))
			le.PutUint32(b[8+2+12*n:], 8+2+12*uint32(n)+4) // next points into its data...
			return b
		},
		"value offsets past end": func(b []byte) []byte {
			n := int(le.Uint16(b[8:]))
			for i := range n {
				e := b[10+12*i:]
				if le.Uint32(e[4:]) > 4 || le.Uint16(e[2:]) == imagingtest.TypeRational {
					le.PutUint32(e[8:], 0xFFFFFFF0)
				}
			}
			return b
		},
		"huge counts": func(b []byte) []byte {
			n := int(le.Uint16(b[8:]))
			for i := range n {
				le.PutUint32(b[10+12*i+4:], 0x7FFFFFFF)
			}
			return b
		},
		"truncated":   func(b []byte) []byte { return b[:20] },
		"header only": func(b []byte) []byte { return b[:8] },
		"not tiff":    func(b []byte) []byte { return []byte("hello there, this is not tiff") },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			data := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(32, 16), 80), f(bytes.Clone(good)))
			md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
			if err != nil {
				t.Fatalf("err = %v, want the image facts", err)
			}
			if md.Width != 32 || md.Height != 16 || md.Format != "jpeg" {
				t.Errorf("facts %+v", md)
			}
		})
	}
}

func TestJPEGColorSpaces(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 10, 5))
	md, err := metadata.ExtractBytes(imagingtest.JPEG(gray, 80), imaging.DefaultLimits)
	if err != nil || md.ColorSpace != "Gray" {
		t.Errorf("gray: %q %v", md.ColorSpace, err)
	}
	// Hand-built headers: SOI, optional Adobe APP14, SOF0 with n components, EOI.
	header := func(n int, adobe int) []byte {
		b := []byte{0xFF, 0xD8}
		if adobe >= 0 {
			b = append(b, 0xFF, 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, byte(adobe))
		}
		sof := []byte{0xFF, 0xC0, 0, byte(8 + 3*n), 8, 0, 20, 0, 30, byte(n)}
		for i := range n {
			sof = append(sof, byte(i+1), 0x11, 0)
		}
		return append(append(b, sof...), 0xFF, 0xD9)
	}
	for _, tc := range []struct {
		n, adobe int
		want     string
	}{{3, -1, "YCbCr"}, {3, 0, "RGB"}, {3, 1, "YCbCr"}, {4, -1, "CMYK"}, {4, 0, "CMYK"}, {4, 2, "YCCK"}} {
		md, err := metadata.ExtractBytes(header(tc.n, tc.adobe), imaging.DefaultLimits)
		if err != nil || md.ColorSpace != tc.want || md.Width != 30 || md.Height != 20 {
			t.Errorf("%d components, adobe %d: %+v %v", tc.n, tc.adobe, md, err)
		}
	}
}

func TestOtherFormats(t *testing.T) {
	m := imagingtest.Photo(33, 17)
	pal := image.NewPaletted(image.Rect(0, 0, 33, 17), color.Palette{color.Black, color.White})
	for _, tc := range []struct {
		format, cs string
		img        image.Image
	}{
		{"png", "RGB", m}, {"png", "Gray", image.NewGray(m.Rect)}, {"png", "Indexed", pal},
		{"gif", "Indexed", m}, {"bmp", "RGB", m}, {"tiff", "RGB", m},
	} {
		data := imagingtest.Encode(t, tc.format, tc.img)
		md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
		if err != nil || md.Format != tc.format || md.Width != 33 || md.Height != 17 || md.ColorSpace != tc.cs {
			t.Errorf("%s: %+v %v", tc.format, md, err)
		}
	}
}

func TestPNGeXIf(t *testing.T) {
	data := imagingtest.Encode(t, "png", imagingtest.Photo(20, 10))
	tiff := imagingtest.EXIF{Make: "PNGCam", Orientation: 8}.TIFF()
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
	chunk = append(append(chunk, "eXIf"...), tiff...)
	chunk = append(chunk, 0, 0, 0, 0)                                          // CRC: not checked by a metadata reader
	withExif := append(append(bytes.Clone(data[:33]), chunk...), data[33:]...) // after IHDR
	md, err := metadata.ExtractBytes(withExif, imaging.DefaultLimits)
	if err != nil || md.Orientation != 8 || md.Camera == nil || md.Camera.Make != "PNGCam" {
		t.Errorf("%+v %v", md, err)
	}
}

func TestWebP(t *testing.T) {
	vp8l := []byte{0x2f, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(vp8l[1:], uint32(99)|uint32(49)<<14)
	tiff := imagingtest.EXIF{Model: "WebPCam"}.TIFF()
	body := append([]byte("WEBPVP8L"), binary.LittleEndian.AppendUint32(nil, 5)...)
	body = append(body, vp8l...)
	body = append(body, 0)
	body = append(append(body, "EXIF"...), binary.LittleEndian.AppendUint32(nil, uint32(len(tiff)))...)
	body = append(body, tiff...)
	data := append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
	md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
	if err != nil || md.Format != "webp" || md.Width != 100 || md.Height != 50 || md.Camera == nil || md.Camera.Model != "WebPCam" {
		t.Errorf("%+v %v", md, err)
	}
}

func TestBadInput(t *testing.T) {
	jpg := photoJPEG(40, 30, imagingtest.EXIF{Make: "X"})
	heic := append(binary.BigEndian.AppendUint32(nil, 16), "ftypheic\x00\x00\x00\x00"...)
	var (
		ne *pipeline.NotAnImageError
		ue *pipeline.UnsupportedFormatError
		ce *pipeline.CorruptImageError
		te *pipeline.ImageTooLargeError
	)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	for _, tc := range []struct {
		name string
		data []byte
		as   any
	}{
		{"zero", nil, &ne},
		{"text", []byte("just some text"), &ne},
		{"heic header only", heic[:12], &ce},
		{"heif sequence without a still image", append(heic, 0, 0, 0, 8, 'm', 'o', 'o', 'v'), &ue},
		{"cut before SOF", jpg[:sof+3], &ce},
		{"SOS before SOF", append(append([]byte{}, jpg[:2]...), 0xFF, 0xDA, 0, 2), &ce},
		{"65535 wide jpeg", bytes.Replace(bytes.Clone(jpg), jpg[sof:sof+9], append(jpg[sof:sof+7:sof+7], 0xFF, 0xFF), 1), &te},
	} {
		_, err := metadata.ExtractBytes(tc.data, imaging.DefaultLimits)
		if err == nil || !errors.As(err, tc.as) {
			t.Errorf("%s: err = %T %v", tc.name, err, err)
		}
	}
	if _, err := metadata.ExtractBytes(jpg, imaging.Limits{MaxBytes: 10}); !errors.As(err, &te) {
		t.Errorf("byte limit: %v", err)
	}
}

// failingReader fails every read past the head, as S3 might.
type failingReader struct {
	data []byte
	head int
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(f.head) {
		return 0, &pipeline.TransientError{Op: "get", Err: errors.New("connection reset")}
	}
	return copy(p, f.data[off:]), nil
}

func TestStorageErrorsPassThrough(t *testing.T) {
	// A big APP2 segment pushes the frame header past what the reader can serve.
	jpg := imagingtest.JPEG(imagingtest.Photo(16, 16), 80)
	app2 := append([]byte{0xFF, 0xE2, 0xFF, 0xFF}, make([]byte, 65533)...)
	data := append(append(bytes.Clone(jpg[:2]), app2...), jpg[2:]...)
	_, err := metadata.Extract(failingReader{data, 1000}, int64(len(data)), imaging.DefaultLimits)
	var tr *pipeline.TransientError
	if !errors.As(err, &tr) {
		t.Fatalf("err = %T %v, want the reader's TransientError", err, err)
	}
	md, err := metadata.Extract(failingReader{data, len(data)}, int64(len(data)), imaging.DefaultLimits)
	if err != nil || md.Width != 16 {
		t.Fatalf("%+v %v", md, err)
	}
}

// corpus is <repo root>/../shared/corpus/exif-samples.
func corpus(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "exif-samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("corpus not present:", dir)
	}
	return dir
}

// TestCorpus: every file gives metadata or a typed error, never a panic.
func TestCorpus(t *testing.T) {
	dir := corpus(t)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "README") || strings.HasSuffix(path, ".rst") {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
		rel, _ := filepath.Rel(dir, path)
		switch err.(type) {
		case nil:
			if md.Width <= 0 || md.Height <= 0 || md.Format == "" {
				t.Errorf("%s: %+v", rel, md)
			}
		case *pipeline.NotAnImageError, *pipeline.UnsupportedFormatError, *pipeline.CorruptImageError, *pipeline.ImageTooLargeError:
			t.Logf("%s: %T: %v", rel, err, err)
		default:
			t.Errorf("%s: untyped error %T: %v", rel, err, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files", n)
}

// TestCorpusGPS checks the gps/ files against an independent reading of their GPS
// IFD, and one file against coordinates read off by hand (exiftool's DMS).
func TestCorpusGPS(t *testing.T) {
	dir := filepath.Join(corpus(t), "jpg", "gps")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lat, lon, ok := refGPS(data)
		if !ok {
			t.Fatalf("%s: no GPS found by the reference reader", f)
		}
		md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
		if err != nil || md.Location == nil || math.Abs(md.Location.Lat-lat) > 1e-6 || math.Abs(md.Location.Lon-lon) > 1e-6 {
			t.Errorf("%s: %+v %v, reference %v,%v", filepath.Base(f), md.Location, err, lat, lon)
		}
	}
	for name, want := range map[string]pipeline.Location{
		"DSCN0010.jpg": {Lat: 43 + 28/60.0 + 2.814/3600, Lon: 11 + 53/60.0 + 6.456/3600},
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
		if err != nil || md.Location == nil {
			t.Fatalf("%s: %+v %v", name, md, err)
		}
		if math.Abs(md.Location.Lat-want.Lat) > 1e-6 || math.Abs(md.Location.Lon-want.Lon) > 1e-6 {
			t.Errorf("%s: %+v, want %+v", name, *md.Location, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(photoJPEG(8, 8, imagingtest.EXIF{Make: "A", Orientation: 6, GPS: true, Lat: -1, Lon: -2, DateTimeOriginal: "2020:01:01 00:00:00"}))
	f.Add(imagingtest.EXIF{Model: "T", GPS: true, Lat: 5, Lon: 5}.TIFF())
	f.Add(imagingtest.Encode(f, "png", imagingtest.Photo(4, 4)))
	f.Add(imagingtest.Encode(f, "gif", imagingtest.Photo(4, 4)))
	lim := imaging.Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 24, MaxSide: 1 << 14}
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := metadata.ExtractBytes(data, lim)
		switch err.(type) {
		case nil:
			if md.Orientation < 0 || md.Orientation > 8 {
				t.Fatalf("orientation %d", md.Orientation)
			}
		case *pipeline.NotAnImageError, *pipeline.UnsupportedFormatError, *pipeline.CorruptImageError, *pipeline.ImageTooLargeError:
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

func BenchmarkExtract12MP(b *testing.B) {
	data := photoJPEG(4000, 3000, imagingtest.EXIF{Make: "Bench", Model: "Mark", Orientation: 6, DateTimeOriginal: "2020:01:01 00:00:00", GPS: true, Lat: 1, Lon: 2})
	b.ResetTimer()
	for b.Loop() {
		if _, err := metadata.ExtractBytes(data, imaging.DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHugeEXIFBounded: each value's JSON is at most 1 KiB and the map's at most
// 16 KiB, Make first, and exifError says so; small EXIF blocks are untouched.
func TestHugeEXIFBounded(t *testing.T) {
	data := imagingtest.WithPNGEXIF(imagingtest.Encode(t, "png", imagingtest.Photo(20, 10)), imagingtest.HugeEXIF())
	md, err := metadata.ExtractBytes(data, imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(md.EXIF)
	for k, v := range md.EXIF {
		if b, _ := json.Marshal(v); len(b) > 1024 {
			t.Errorf("%s: %d bytes as JSON", k, len(b))
		}
	}
	if len(all) > 16<<10 || md.EXIF["Make"] != "Crafted" || !strings.Contains(md.EXIFError, "truncated") {
		t.Errorf("exif of %d bytes, Make %q, exifError %q", len(all), md.EXIF["Make"], md.EXIFError)
	}
	small, err := metadata.ExtractBytes(photoJPEG(40, 30, imagingtest.EXIF{Make: "X", Model: "Y"}), imaging.DefaultLimits)
	if err != nil || small.EXIFError != "" || small.EXIF["Model"] != "Y" {
		t.Errorf("small EXIF: %+v %v", small, err)
	}
}

// TestHEIF: size from ispe, EXIF from the Exif item, orientation from irot and imir
// (which HEIF readers apply, ignoring the EXIF tag), for HEIC and AVIF alike.
func TestHEIF(t *testing.T) {
	for _, tc := range []struct {
		spec   imagingtest.HEIFSpec
		format string
		want   int
	}{
		{imagingtest.HEIFSpec{Width: 4032, Height: 3024, Rotation: 3, Mirror: -1}, "heic", 6},
		{imagingtest.HEIFSpec{Width: 4032, Height: 3024, Rotation: -1, Mirror: -1}, "heic", 1}, // EXIF says 6: not applied by readers
		{imagingtest.HEIFSpec{Width: 1000, Height: 700, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: 2, Mirror: -1}, "heic", 3},
		{imagingtest.HEIFSpec{Brand: "avif", Codec: "av01", Width: 640, Height: 480, Rotation: -1, Mirror: 1}, "avif", 4},
	} {
		tc.spec.EXIF = imagingtest.EXIF{Make: "Apple", Model: "iPhone 13 Pro Max", Orientation: 6,
			DateTimeOriginal: "2022:02:16 12:55:41", OffsetTimeOriginal: "+01:00", GPS: true, Lat: 48.2, Lon: 16.37}.TIFF()
		md, err := metadata.ExtractBytes(imagingtest.HEIF(tc.spec), imaging.DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if md.Format != tc.format || md.Width != tc.spec.Width || md.Height != tc.spec.Height || md.Orientation != tc.want ||
			md.ColorSpace != "YCbCr" || md.TakenAt != "2022-02-16T12:55:41+01:00" || md.Camera == nil || md.Camera.Model != "iPhone 13 Pro Max" ||
			md.Location == nil || md.Location.Lat != 48.2 || md.EXIF["Orientation"] != "6" {
			t.Errorf("%+v: %+v", tc.spec, md)
		}
	}
}
