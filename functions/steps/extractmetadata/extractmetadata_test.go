package extractmetadata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/steps/extractmetadata"
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

func invoke(t *testing.T, s3 *imagingtest.FakeS3, lim imaging.Limits, ev string) (map[string]any, error) {
	t.Helper()
	h := extractmetadata.Handler{Store: objects.Store{S3: s3}, Limits: lim}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), event(t, ev))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return m, nil
}

func TestPhoto(t *testing.T) {
	s3 := imagingtest.NewFakeS3()
	tiff := imagingtest.EXIF{Make: "HMD Global", Model: "Nokia 8.3 5G", Orientation: 6,
		DateTimeOriginal: "2019:06:01 10:22:31", GPS: true, Lat: 43.467, Lon: -11.885}.TIFF()
	data := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(1600, 1200), 90), tiff)
	s3.Add(bucket, key, data)
	got, err := invoke(t, s3, imaging.Limits{}, "created-photo")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"format": "jpeg", "width": 1600.0, "height": 1200.0, "orientation": 6.0, "colorspace": "YCbCr",
		"size": float64(len(data)), "takenAt": "2019-06-01T10:22:31Z",
		"camera":   map[string]any{"make": "HMD Global", "model": "Nokia 8.3 5G"},
		"location": map[string]any{"lat": 43.467, "lon": -11.885},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if exif, _ := got["exif"].(map[string]any); exif["Make"] != "HMD Global" {
		t.Errorf("exif = %v", got["exif"])
	}
	if len(data) <= extractmetadata.HeadSize {
		t.Fatalf("fixture too small (%d bytes) to show a ranged read", len(data))
	}
	if s3.Gets != 1 || s3.BytesServed != extractmetadata.HeadSize {
		t.Errorf("read %d bytes in %d requests (%v); want one head read", s3.BytesServed, s3.Gets, s3.Ranges)
	}
}

// TestMetadataBeyondTheHead: a large ICC-like APP2 run pushes the frame header past
// the first range; the handler reads on, but not the whole object.
func TestMetadataBeyondTheHead(t *testing.T) {
	s3 := imagingtest.NewFakeS3()
	jpg := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(2000, 1500), 90), imagingtest.EXIF{Model: "Far"}.TIFF())
	var pad []byte
	for range 5 { // 5 × 64 KiB
		pad = append(pad, 0xFF, 0xE2, 0xFF, 0xFF)
		pad = append(pad, make([]byte, 0xFFFD)...)
	}
	data := append(append(append([]byte{}, jpg[:2]...), pad...), jpg[2:]...)
	s3.Add(bucket, key, data)
	got, err := invoke(t, s3, imaging.Limits{}, "created-photo")
	if err != nil {
		t.Fatal(err)
	}
	if got["width"] != 2000.0 || got["height"] != 1500.0 || got["camera"] == nil {
		t.Errorf("got %v", got)
	}
	if s3.Gets < 2 || s3.BytesServed >= int64(len(data)) {
		t.Errorf("read %d of %d bytes in %d requests", s3.BytesServed, len(data), s3.Gets)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		body        []byte
		lim         imaging.Limits
		want        string
	}{
		{"zero bytes", "created-empty", []byte{}, imaging.Limits{}, "NotAnImageError"},
		{"not an image", "created-photo", []byte("hello"), imaging.Limits{}, "NotAnImageError"},
		{"heic", "created-photo", append([]byte{0, 0, 0, 16}, "ftypheic\x00\x00\x00\x00"...), imaging.Limits{}, "UnsupportedFormatError"},
		{"truncated", "created-photo", imagingtest.JPEG(imagingtest.Photo(8, 8), 80)[:40], imaging.Limits{}, "CorruptImageError"},
		{"missing object", "created-photo", nil, imaging.Limits{}, "ObjectNotFoundError"},
		{"outside upload/", "created-outside-upload", nil, imaging.Limits{}, "InvalidEventError"},
		{"no bucket", "created-no-bucket", nil, imaging.Limits{}, "InvalidEventError"},
		{"event size over limit", "created-huge", nil, imaging.Limits{}, "ImageTooLargeError"},
		{"object over limit", "created-photo", make([]byte, 5000), imaging.Limits{MaxBytes: 4096}, "ImageTooLargeError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := imagingtest.NewFakeS3()
			if tc.body != nil {
				var ev struct {
					Detail struct {
						Object struct{ Key string }
					}
				}
				_ = json.Unmarshal(event(t, tc.event), &ev)
				s3.Add(bucket, ev.Detail.Object.Key, tc.body)
			}
			_, err := invoke(t, s3, tc.lim, tc.event)
			if err == nil || pipeline.ErrorName(err) != tc.want {
				t.Fatalf("err = %v (%s), want %s", err, pipeline.ErrorName(err), tc.want)
			}
			if tc.want == "ImageTooLargeError" && tc.body == nil && s3.Gets != 0 {
				t.Errorf("read the object before refusing it")
			}
		})
	}
}

// TestEXIFBoundedForTheStatePayload: a PNG whose EXIF tags, as JSON, come to about
// 480 KB (over Step Functions' 256 KiB state limit) gives an output of at most
// 20 KiB: EXIF within 16 KiB, the tags that matter kept, and exifError saying what
// was left out.
func TestEXIFBoundedForTheStatePayload(t *testing.T) {
	const stateLimit, bound = 256 << 10, 20 << 10
	tiff := imagingtest.HugeEXIF()
	data := imagingtest.WithPNGEXIF(imagingtest.Encode(t, "png", imagingtest.Photo(40, 30)), tiff)
	s3 := imagingtest.NewFakeS3()
	s3.Add(bucket, key, data)
	h := extractmetadata.Handler{Store: objects.Store{S3: s3}}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), event(t, "created-photo"))
	if err != nil {
		t.Fatal(err)
	}
	var md pipeline.Metadata
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatal(err)
	}
	whole := 0
	for range 78 { // the crafted tags, as the reader would show them unbounded
		v, _ := json.Marshal(string(bytes.Repeat([]byte{1}, 1023)))
		whole += len(v) + 24
	}
	t.Logf("EXIF of %d bytes in the file, ~%d bytes as JSON unbounded; output %d bytes (bound %d), %d tags; exifError %q",
		len(tiff), whole, len(out), bound, len(md.EXIF), md.EXIFError)
	if whole <= stateLimit {
		t.Fatalf("the crafted EXIF (%d bytes as JSON) would not pass the state limit", whole)
	}
	if len(out) > bound {
		t.Errorf("output is %d bytes, over %d", len(out), bound)
	}
	if md.EXIF["Make"] != "Crafted" || md.Camera == nil || md.Camera.Make != "Crafted" {
		t.Errorf("Make not kept first: %q, %+v", md.EXIF["Make"], md.Camera)
	}
	if !strings.Contains(md.EXIFError, "exif truncated") {
		t.Errorf("exifError = %q, want the truncation said", md.EXIFError)
	}
}

// TestHEICReadsOnlyWhatItNeeds: the meta box comes with the head read, then the
// Exif item's block 3 MB in; the image data between is never fetched.
func TestHEICReadsOnlyWhatItNeeds(t *testing.T) {
	data := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 4032, Height: 3024, Rotation: 3, Mirror: -1,
		EXIF: imagingtest.EXIF{Make: "Apple"}.TIFF(), CodedBytes: 3 << 20})
	s3 := imagingtest.NewFakeS3()
	s3.Add(bucket, key, data)
	got, err := invoke(t, s3, imaging.Limits{}, "created-photo")
	if err != nil {
		t.Fatal(err)
	}
	if got["format"] != "heic" || got["orientation"] != 6.0 || got["width"] != 4032.0 || got["camera"].(map[string]any)["make"] != "Apple" {
		t.Errorf("%v", got)
	}
	if s3.BytesServed > extractmetadata.HeadSize+extractmetadata.BlockSize || s3.Gets != 2 {
		t.Errorf("read %d of %d bytes in %d requests (%v)", s3.BytesServed, len(data), s3.Gets, s3.Ranges)
	}
}
