package detectlabels

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/labels"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The object detect-labels-event.json names.
const bucket, key = "images", "upload/2024/red.png"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stubLabeler records the image it was asked to label.
type stubLabeler struct {
	got   []labels.Image
	out   pipeline.Labels
	err   error
	calls int
}

func (s *stubLabeler) DetectImage(_ context.Context, img labels.Image) (pipeline.Labels, error) {
	s.calls++
	s.got = append(s.got, img)
	return s.out, s.err
}

// run invokes the handler through the Lambda JSON path with body stored under the
// event's key.
func run(t *testing.T, body []byte, stub *stubLabeler) ([]byte, *imagingtest.FakeS3, error) {
	t.Helper()
	s3 := imagingtest.NewFakeS3()
	if body != nil {
		s3.Add(bucket, key, body)
	}
	h := Handler{Store: objects.Store{S3: s3}, Labeler: stub}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), fixture(t, "detect-labels-event.json"))
	return out, s3, err
}

func TestHandleOriginal(t *testing.T) {
	stub := &stubLabeler{out: pipeline.Labels{Labels: []pipeline.Label{{Name: "Lighthouse", Confidence: 97.1, Parents: []string{"Tower"}}}, Source: "rekognition"}}
	out, s3, err := run(t, imagingtest.JPEG(imagingtest.Photo(200, 150), 90), stub)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"labels":[{"name":"Lighthouse","confidence":97.1,"parents":["Tower"]}],"source":"rekognition","labelledFrom":"original"}`
	if string(out) != want {
		t.Errorf("output\n got %s\nwant %s", out, want)
	}
	if len(stub.got) != 1 || stub.got[0].Bucket != bucket || stub.got[0].Key != key || stub.got[0].Bytes != nil {
		t.Errorf("labeler asked for %+v, want the S3 object", stub.got)
	}
	// A JPEG Rekognition reads itself: the step reads its head, never the whole.
	if s3.Gets != 1 || len(s3.Ranges) != 1 {
		t.Errorf("gets %d, ranges %q; want one ranged read", s3.Gets, s3.Ranges)
	}
}

func TestHandleRenders(t *testing.T) {
	photo := imagingtest.Photo(300, 200)
	turned := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Corners(60, 40, red, green, blue, white), 95), imagingtest.EXIF{Orientation: 6}.TIFF())
	tests := []struct {
		name  string
		body  []byte
		w, h  int // of the rendering
		check func(t *testing.T, m image.Image)
	}{
		{"gif", imagingtest.Encode(t, "gif", photo), 300, 200, nil},
		{"bmp", imagingtest.Encode(t, "bmp", photo), 300, 200, nil},
		{"tiff", imagingtest.Encode(t, "tiff", photo), 300, 200, nil},
		// WebP: local/rekognition's test, which has a WebP writer.
		{"png under 80 pixels", imagingtest.Encode(t, "png", imagingtest.Photo(40, 30)), 107, 80, nil},
		// The short side wins over RenderSide: 100 → 80 takes 10001 to 8001.
		{"jpeg over 10000 pixels", imagingtest.JPEG(imagingtest.Photo(10001, 100), 80), 8001, 80, nil},
		// Stored 60×40, displayed 40×60: enlarged to a short side of 80, then turned.
		{"small jpeg turned by exif", turned, 80, 120, func(t *testing.T, m image.Image) {
			// Orientation 6: the stored top-left corner is shown top-right.
			if c := m.At(70, 5); !imagingtest.Near(c, red, 40) {
				t.Errorf("top-right = %v, want red", c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stub := &stubLabeler{out: pipeline.Labels{Labels: []pipeline.Label{{Name: "Red", Confidence: 90}}, Source: "rekognition"}}
			out, _, err := run(t, tc.body, stub)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), `"labelledFrom":"rendering"`) || !strings.Contains(string(out), `"Red"`) {
				t.Errorf("output %s", out)
			}
			if len(stub.got) != 1 || stub.got[0].Bytes == nil {
				t.Fatalf("labeler asked for %+v, want bytes", stub.got)
			}
			m := checkRendering(t, stub.got[0].Bytes)
			if b := m.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("rendering is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

var (
	red   = color.RGBA{220, 30, 30, 255}
	green = color.RGBA{30, 180, 30, 255}
	blue  = color.RGBA{30, 30, 220, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// checkRendering asserts what Rekognition requires of inline bytes and returns the
// decoded image.
func checkRendering(t *testing.T, b []byte) image.Image {
	t.Helper()
	if len(b) > labels.MaxInlineBytes {
		t.Errorf("rendering is %d bytes, over %d", len(b), labels.MaxInlineBytes)
	}
	if f, err := imaging.Sniff(b); err != nil || f != imaging.JPEG {
		t.Fatalf("rendering sniffs as %q (%v), want jpeg", f, err)
	}
	m, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := Refusal(imaging.JPEG, int64(len(b)), m.Bounds().Dx(), m.Bounds().Dy()); r != "" {
		t.Errorf("rekognition would refuse the rendering: %s", r)
	}
	return m
}

func TestHandleReadsWholeHeaderWhenHeadIsShort(t *testing.T) {
	// APP segments push the frame header past the first range read.
	jpg := imagingtest.JPEG(imagingtest.Photo(200, 150), 90)
	seg := make([]byte, 4+60<<10)
	seg[0], seg[1] = 0xFF, 0xE2
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	body := append([]byte{}, jpg[:2]...)
	for range 3 {
		body = append(body, seg...)
	}
	body = append(body, jpg[2:]...)
	stub := &stubLabeler{}
	out, s3, err := run(t, body, stub)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"labelledFrom":"original"`) || stub.got[0].Bytes != nil {
		t.Errorf("output %s, labeler asked for %+v", out, stub.got)
	}
	if s3.Gets != 2 {
		t.Errorf("gets = %d, want the head then the whole object", s3.Gets)
	}
}

func TestHandleErrors(t *testing.T) {
	h := lambda.NewHandler(Handler{Store: objects.Store{S3: imagingtest.NewFakeS3()}, Labeler: &stubLabeler{}}.Handle)
	_, err := h.Invoke(context.Background(), fixture(t, "detect-labels-bad-event.json"))
	if pipeline.ErrorName(err) != pipeline.ErrNameInvalidEvent {
		t.Errorf("bad event: %v (%s)", err, pipeline.ErrorName(err))
	}
	jpg := imagingtest.JPEG(imagingtest.Photo(100, 100), 90)
	tests := []struct {
		name     string
		body     []byte
		labelErr error
		want     string
	}{
		{"missing object", nil, nil, pipeline.ErrNameObjectNotFound},
		{"not an image", []byte("hello, world: no image here"), nil, pipeline.ErrNameNotAnImage},
		{"corrupt gif", imagingtest.Encode(t, "gif", imagingtest.Photo(100, 100))[:200], nil, pipeline.ErrNameCorrupt},
		{"throttled", jpg, &pipeline.ThrottledError{Service: "rekognition", Err: errors.New("slow")}, pipeline.ErrNameThrottled},
		// A JPEG header Rekognition refuses is a damaged JPEG, as the other branches say.
		{"rekognition cannot read it", jpg, &pipeline.NotAnImageError{Reason: "x"}, pipeline.ErrNameCorrupt},
	}
	for _, tc := range tests {
		stub := &stubLabeler{err: tc.labelErr}
		_, _, err := run(t, tc.body, stub)
		if pipeline.ErrorName(err) != tc.want {
			t.Errorf("%s: got %v (%s), want %s", tc.name, err, pipeline.ErrorName(err), tc.want)
		}
		if tc.labelErr == nil && stub.calls != 0 {
			t.Errorf("%s: labeler called for an object the pipeline refuses", tc.name)
		}
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		format string
		size   int64
		w, h   int
		refuse bool
	}{
		{imaging.JPEG, 1 << 20, 4000, 3000, false},
		{imaging.PNG, labels.MaxS3Bytes, 80, 10000, false},
		{imaging.PNG, labels.MaxS3Bytes + 1, 100, 100, true},
		{imaging.JPEG, 1000, 79, 100, true},
		{imaging.JPEG, 1000, 100, 79, true},
		{imaging.JPEG, 1000, 10001, 100, true},
		{imaging.JPEG, 1000, 100, 10001, true},
		{imaging.GIF, 1000, 100, 100, true},
		{imaging.WebP, 1000, 100, 100, true},
		{imaging.TIFF, 1000, 100, 100, true},
		{imaging.BMP, 1000, 100, 100, true},
	}
	for _, tc := range tests {
		if got := Refusal(tc.format, tc.size, tc.w, tc.h); (got != "") != tc.refuse {
			t.Errorf("Refusal(%s, %d, %d, %d) = %q, want refused %v", tc.format, tc.size, tc.w, tc.h, got, tc.refuse)
		}
	}
}

func TestRenderSize(t *testing.T) {
	tests := []struct{ w, h, tw, th int }{
		{4000, 3000, 1920, 1440},
		{3000, 4000, 1440, 1920},
		{1000, 800, 1000, 800},     // already small enough: kept
		{100, 50, 160, 80},         // enlarged to a short side of 80
		{40, 30, 107, 80},          //
		{100, 5000, 80, 4000},      // the short side wins over RenderSide
		{10, 20000, 5, 10000},      // too long for both: MaxSide, then padded
		{20000, 20000, 1920, 1920}, // pipeline's largest
	}
	for _, tc := range tests {
		if tw, th := renderSize(tc.w, tc.h); tw != tc.tw || th != tc.th {
			t.Errorf("renderSize(%d, %d) = %d, %d; want %d, %d", tc.w, tc.h, tw, th, tc.tw, tc.th)
		}
	}
}

func TestRenderPadsAStrip(t *testing.T) {
	strip := imagingtest.Encode(t, "png", imagingtest.Photo(10, 12000))
	b, err := Render(context.Background(), strip, imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	m := checkRendering(t, b)
	if got := m.Bounds().Size(); got != image.Pt(80, 10000) {
		t.Fatalf("rendering is %v, want 80x10000", got)
	}
	if c := m.At(2, 5000); !imagingtest.Near(c, white, 8) {
		t.Errorf("border = %v, want white", c)
	}
}

// noise is an image JPEG cannot compress: the worst case for the inline limit.
func noise(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range m.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		m.Pix[i] = byte(x)
	}
	return m
}

func TestRenderWorstCaseFits(t *testing.T) {
	// Noise at RenderSide²: the largest rendering there is, at its least compressible.
	b, err := Render(context.Background(), imagingtest.Encode(t, "bmp", noise(RenderSide, RenderSide)), imaging.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	checkRendering(t, b)
}

func TestEncodeWithinLowersQuality(t *testing.T) {
	m := noise(200, 200)
	best, err := encodeWithin(m, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	smaller, err := encodeWithin(m, len(best)-1)
	if err != nil || len(smaller) >= len(best) {
		t.Errorf("with a limit under quality %d: %d bytes, %v", imaging.JPEGQuality, len(smaller), err)
	}
	if _, err := encodeWithin(m, 100); err == nil {
		t.Error("no error when no quality fits")
	}
}

// TestHandleHEIC: Rekognition reads no HEIC, so a phone photo is labelled from a
// JPEG rendering, upright (the corpus's iPhone photo is stored on its side); a
// HEIC whose tiles are damaged fails as the other branches fail. The corpus file
// is skipped when absent (no HEIC encoder is at hand to make one).
func TestHandleHEIC(t *testing.T) {
	damaged := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 1024, Height: 768, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1})
	var ce *pipeline.CorruptImageError
	if _, _, err := run(t, damaged, &stubLabeler{}); !errors.As(err, &ce) {
		t.Errorf("damaged tiles: %T %v, want a CorruptImageError", err, err)
	}
	path := filepath.Join("..", "..", "..", "..", "shared", "corpus", "exif-samples", "heic", "mobile", "iphone_13_pro_max.HEIC")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skip("corpus not present:", path)
	}
	stub := &stubLabeler{out: pipeline.Labels{Labels: []pipeline.Label{{Name: "Phone", Confidence: 90}}, Source: "rekognition"}}
	out, _, err := run(t, data, stub)
	if err != nil {
		t.Fatal(err)
	}
	var got pipeline.Labels
	if err := json.Unmarshal(out, &got); err != nil || got.LabelledFrom != pipeline.LabelledRendering || stub.calls != 1 {
		t.Fatalf("%s %v (calls %d)", out, err, stub.calls)
	}
	m := checkRendering(t, stub.got[0].Bytes)
	if b := m.Bounds(); b.Dx() != 1440 || b.Dy() != 1920 {
		t.Errorf("rendering %v, want 1440x1920 (upright)", b.Size())
	}
}
