package makethumbnail_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"golang.org/x/image/draw"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

const (
	bucket = "images"
	key    = "upload/2024/IMG_0200.jpg" // as in testdata/events/created-photo.json
)

func event(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHandler(t *testing.T) {
	s3 := imagingtest.NewFakeS3()
	data := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(1200, 900), 90),
		imagingtest.EXIF{Make: "Secret", Orientation: 6, GPS: true, Lat: 1, Lon: 2}.TIFF())
	s3.Add(bucket, key, data)
	h := makethumbnail.Handler{Store: objects.Store{S3: s3}, Size: 80, PreviewSize: 640}
	invoke := func() map[string]any {
		out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), event(t, "created-photo"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	got := invoke()
	sum := sha256.Sum256(data)
	want := map[string]any{
		"bucket": bucket, "key": "thumbnail/2024/IMG_0200.jpg", "width": 60.0, "height": 80.0,
		"previewKey": "preview/2024/IMG_0200.jpg", "previewWidth": 480.0, "previewHeight": 640.0,
		"contentSha256": hex.EncodeToString(sum[:]),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("output %v\nwant %v", got, want)
	}
	thumb, ok := s3.Get(bucket, "thumbnail/2024/IMG_0200.jpg")
	if !ok {
		t.Fatal("no thumbnail written")
	}
	if thumb.ContentType != "image/jpeg" || thumb.CacheControl != "public, max-age=31536000, immutable" {
		t.Errorf("headers %q %q", thumb.ContentType, thumb.CacheControl)
	}
	if b := decode(t, thumb.Body).Bounds(); b.Dx() != 60 || b.Dy() != 80 {
		t.Errorf("thumbnail is %v", b)
	}
	if bytes.Contains(thumb.Body, []byte("Exif")) || bytes.Contains(thumb.Body, []byte("Secret")) {
		t.Error("thumbnail carries metadata")
	}
	prev, _ := s3.Get(bucket, "preview/2024/IMG_0200.jpg")
	if b := decode(t, prev.Body).Bounds(); b.Dx() != 480 || b.Dy() != 640 {
		t.Errorf("preview is %v", b)
	}
	// Idempotent: a second run writes the same bytes under the same keys.
	if again := invoke(); !reflect.DeepEqual(again, got) {
		t.Errorf("second run %v", again)
	}
	if t2, _ := s3.Get(bucket, "thumbnail/2024/IMG_0200.jpg"); !bytes.Equal(t2.Body, thumb.Body) {
		t.Error("second run wrote different bytes")
	}
}

func TestHandlerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		body        []byte
		want        string
	}{
		{"zero bytes", "created-empty", []byte{}, "NotAnImageError"},
		{"random", "created-photo", []byte("\x00\x01\x02 definitely not an image"), "NotAnImageError"},
		{"truncated jpeg", "created-photo", imagingtest.JPEG(imagingtest.Photo(64, 64), 80)[:300], "CorruptImageError"},
		{"missing", "created-photo", nil, "ObjectNotFoundError"},
		{"outside upload/", "created-outside-upload", nil, "InvalidEventError"},
		{"huge", "created-huge", nil, "ImageTooLargeError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := imagingtest.NewFakeS3()
			if tc.body != nil {
				k := key
				if tc.event == "created-empty" {
					k = "upload/empty.jpg"
				}
				s3.Add(bucket, k, tc.body)
			}
			h := makethumbnail.Handler{Store: objects.Store{S3: s3}}
			_, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), event(t, tc.event))
			if pipeline.ErrorName(err) != tc.want {
				t.Fatalf("err = %v (%s), want %s", err, pipeline.ErrorName(err), tc.want)
			}
			if len(s3.Objects) > 1 {
				t.Errorf("wrote objects on failure: %d", len(s3.Objects))
			}
		})
	}
}

var (
	red   = color.RGBA{220, 20, 20, 255}
	green = color.RGBA{20, 200, 20, 255}
	grey  = color.RGBA{128, 128, 128, 255}
)

// TestEveryOrientation stores a landscape picture (red top-left, green top-right as
// displayed) the way a camera would for each orientation value, and checks that the
// thumbnail shows it upright. The table says, from the EXIF definition of each
// value, which stored corner is displayed top-left and top-right.
func TestEveryOrientation(t *testing.T) {
	type corner int
	const (
		tl corner = iota
		tr
		bl
		br
	)
	displayed := map[int][2]corner{ // stored corner shown at display TL, display TR
		1: {tl, tr}, 2: {tr, tl}, 3: {br, bl}, 4: {bl, br},
		5: {tl, bl}, 6: {bl, tl}, 7: {br, tr}, 8: {tr, br},
	}
	for o := 1; o <= 8; o++ {
		w, h := 240, 160
		if o >= 5 {
			w, h = h, w
		}
		c := [4]color.RGBA{grey, grey, grey, grey}
		c[displayed[o][0]] = red
		c[displayed[o][1]] = green
		stored := imagingtest.Corners(w, h, c[tl], c[tr], c[bl], c[br])
		data := imagingtest.WithEXIF(imagingtest.JPEG(stored, 95), imagingtest.EXIF{Orientation: o}.TIFF())
		// Without a preview the thumbnail comes from the decode; with one, from the
		// (already upright) preview.
		for _, preview := range []int{0, 200} {
			r, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, preview)
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, r.Thumbnail.JPEG)
			b := m.Bounds()
			if b.Dx() != 80 || b.Dy() != 53 || r.Thumbnail.Width != 80 || r.Thumbnail.Height != 53 {
				t.Errorf("orientation %d preview %d: thumbnail %v", o, preview, b)
			}
			if !imagingtest.Near(m.At(4, 4), red, 40) || !imagingtest.Near(m.At(b.Dx()-5, 4), green, 40) {
				t.Errorf("orientation %d preview %d: top-left %v, top-right %v", o, preview, m.At(4, 4), m.At(b.Dx()-5, 4))
			}
		}
	}
}

// Render's thumbnail and preview, however they are made, stay close to a
// reference resampled from the full-resolution original with a high-quality
// filter (Catmull-Rom over every source pixel), and the same bytes always give
// the same JPEGs.
func TestRenderQuality(t *testing.T) {
	src := imagingtest.Photo(2400, 1600)
	data := imagingtest.JPEG(src, 95)
	ref := func(w, h int) *image.RGBA {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(m, m.Bounds(), src, src.Bounds(), draw.Src, nil)
		return m
	}
	for _, preview := range []int{0, 640} {
		r, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, preview)
		if err != nil {
			t.Fatal(err)
		}
		again, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, preview)
		if err != nil || !bytes.Equal(again.Thumbnail.JPEG, r.Thumbnail.JPEG) {
			t.Errorf("preview %d: thumbnail not deterministic (%v)", preview, err)
		}
		got := []makethumbnail.Image{r.Thumbnail}
		if r.Preview != nil {
			got = append(got, *r.Preview)
			if !bytes.Equal(again.Preview.JPEG, r.Preview.JPEG) {
				t.Errorf("preview %d: preview not deterministic", preview)
			}
		}
		for _, im := range got {
			psnr := imagingtest.PSNR(decode(t, im.JPEG), ref(im.Width, im.Height))
			t.Logf("preview %d: %dx%d PSNR %.1f dB", preview, im.Width, im.Height, psnr)
			if psnr < 30 {
				t.Errorf("preview %d: %dx%d PSNR %.1f dB < 30", preview, im.Width, im.Height, psnr)
			}
		}
	}
}

func TestSmallImageKeepsItsSize(t *testing.T) {
	r, err := makethumbnail.Render(context.Background(), imagingtest.JPEG(imagingtest.Photo(50, 30), 90), imaging.DefaultLimits, 80, 640)
	if err != nil || r.Thumbnail.Width != 50 || r.Thumbnail.Height != 30 || r.Preview.Width != 50 {
		t.Errorf("%+v %v", r.Thumbnail, err)
	}
}

func corpus(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "corpus", "exif-samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("corpus not present:", dir)
	}
	return dir
}

// TestCorpusOrientation: the eight files of each set hold one picture stored eight
// ways; upright, their thumbnails must look alike.
func TestCorpusOrientation(t *testing.T) {
	dir := filepath.Join(corpus(t), "jpg", "orientation")
	for _, set := range []string{"landscape", "portrait"} {
		var ref image.Image
		for o := 1; o <= 8; o++ {
			data, err := os.ReadFile(filepath.Join(dir, set+"_"+string(rune('0'+o))+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, 0)
			if err != nil {
				t.Fatalf("%s_%d: %v", set, o, err)
			}
			m := decode(t, r.Thumbnail.JPEG)
			if o == 1 {
				ref = m
				continue
			}
			if m.Bounds() != ref.Bounds() {
				t.Errorf("%s_%d: %v, want %v", set, o, m.Bounds(), ref.Bounds())
				continue
			}
			psnr := imagingtest.PSNR(m, ref)
			// The files differ slightly (each was re-encoded), so "alike" is relative:
			// of the eight ways to turn the stored pixels, the EXIF value's must match
			// the upright reference best, by a clear margin.
			img, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, 80)
			if err != nil {
				t.Fatal(err)
			}
			best, bestPSNR, second := 0, 0.0, 0.0
			for k := 1; k <= 8; k++ {
				cand := imaging.Orient(imaging.Fit(img, 80), k)
				if cand.Bounds().Size() != ref.Bounds().Size() {
					continue
				}
				p := imagingtest.PSNR(cand, ref)
				if p > bestPSNR {
					best, bestPSNR, second = k, p, bestPSNR
				} else if p > second {
					second = p
				}
			}
			t.Logf("%s_%d: PSNR %.1f dB against %s_1; best turn %d (%.1f dB), next %.1f dB", set, o, psnr, set, best, bestPSNR, second)
			if psnr < 20 || best != o || bestPSNR-second < 5 {
				t.Errorf("%s_%d: not the same picture upright (PSNR %.1f dB, best turn %d)", set, o, psnr, best)
			}
		}
	}
}

// TestCorpusNeverPanics: every corpus file gives a thumbnail or a typed error.
func TestCorpusNeverPanics(t *testing.T) {
	dir := corpus(t)
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "README") || strings.HasSuffix(path, ".rst") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, 0)
		switch err.(type) {
		case nil, *pipeline.NotAnImageError, *pipeline.UnsupportedFormatError, *pipeline.CorruptImageError, *pipeline.ImageTooLargeError:
			if err != nil {
				t.Logf("%s: %v", filepath.Base(path), err)
			}
		default:
			t.Errorf("%s: untyped error %T: %v", path, err, err)
		}
		return nil
	})
}

func BenchmarkRender12MP(b *testing.B) {
	data := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(4000, 3000), 90), imagingtest.EXIF{Orientation: 6}.TIFF())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, 80, 640); err != nil {
			b.Fatal(err)
		}
	}
}
