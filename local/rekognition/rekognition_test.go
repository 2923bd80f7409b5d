package rekognition_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	"github.com/aws/aws-sdk-go-v2/service/rekognition/types"
	smithy "github.com/aws/smithy-go"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/labels"
	twin "github.com/imagepipe/imagepipe/local/rekognition"
)

// objectStore serves the one S3 fake to the service, as the twin's S3 store will. The
// fake keeps no versions: a versioned read finds nothing.
type objectStore struct {
	s3  *imagingtest.FakeS3
	err error // when set, every read fails with it
}

func (o objectStore) Get(_ context.Context, bucket, key, version string) ([]byte, error) {
	if o.err != nil {
		return nil, o.err
	}
	obj, ok := o.s3.Get(bucket, key)
	if !ok || version != "" {
		return nil, &twin.NoSuchObjectError{Bucket: bucket, Key: key, Version: version}
	}
	return obj.Body, nil
}

// recorded is one request the service received.
type recorded struct {
	target string
	body   map[string]any
}

// recorder passes requests to the service and keeps them, to show which image the
// caller sent.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{target: req.Header.Get("X-Amz-Target"), body: body})
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(b))
	r.next.ServeHTTP(w, req)
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request reached the service")
	}
	return r.reqs[len(r.reqs)-1]
}

type twinServer struct {
	url    string
	client *rekognition.Client
	s3     *imagingtest.FakeS3
	rec    *recorder
}

// newTwin starts the service over a fresh S3 fake, and a real SDK client for it
// that never retries (so that each call is one request).
func newTwin(t testing.TB, objErr error) *twinServer {
	t.Helper()
	s3 := imagingtest.NewFakeS3()
	rec := &recorder{next: twin.New(twin.Options{Objects: objectStore{s3: s3, err: objErr}, Limits: imaging.DefaultLimits}).Handler()}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	client := rekognition.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *rekognition.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &twinServer{url: srv.URL, client: client, s3: s3, rec: rec}
}

func (ts *twinServer) detect(in *rekognition.DetectLabelsInput) (*rekognition.DetectLabelsOutput, error) {
	return ts.client.DetectLabels(context.Background(), in)
}

func bytesImage(b []byte) *types.Image { return &types.Image{Bytes: b} }

func s3Image(bucket, key string) *types.Image {
	return &types.Image{S3Object: &types.S3Object{Bucket: aws.String(bucket), Name: aws.String(key)}}
}

func labelNames(out *rekognition.DetectLabelsOutput) map[string]types.Label {
	m := map[string]types.Label{}
	for _, l := range out.Labels {
		m[aws.ToString(l.Name)] = l
	}
	return m
}

// wantCode asserts err is the API error code, and returns its message.
func wantCode(t *testing.T, err error, code string) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return ae.ErrorMessage()
}

func TestDetectLabelsBytes(t *testing.T) {
	ts := newTwin(t, nil)
	out, err := ts.detect(&rekognition.DetectLabelsInput{Image: bytesImage(imagingtest.JPEG(imagingtest.Photo(300, 200), 90))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.LabelModelVersion) != "3.0" || out.OrientationCorrection != "" || len(out.Labels) == 0 {
		t.Fatalf("output %+v", out)
	}
	l, ok := labelNames(out)["Landscape"]
	if !ok || len(l.Parents) != 1 || aws.ToString(l.Parents[0].Name) != "Shape" || aws.ToFloat32(l.Confidence) != 99 {
		t.Errorf("Landscape = %+v (labels %v)", l, labelNames(out))
	}
	for i := 1; i < len(out.Labels); i++ {
		if aws.ToFloat32(out.Labels[i].Confidence) > aws.ToFloat32(out.Labels[i-1].Confidence) {
			t.Errorf("labels not by confidence: %v", labelNames(out))
		}
	}
	// The default MinConfidence is 55: nothing below it comes back.
	for n, l := range labelNames(out) {
		if aws.ToFloat32(l.Confidence) < 55 {
			t.Errorf("%s at %v, under the default 55", n, aws.ToFloat32(l.Confidence))
		}
	}
}

func TestDetectLabelsS3Object(t *testing.T) {
	ts := newTwin(t, nil)
	ts.s3.Add("images", "upload/red.png", imagingtest.Encode(t, "png", solid(120, 90, color.RGBA{220, 30, 30, 255})))
	// Stored 300×200, shown 200×300: Rekognition labels JPEGs upright.
	turned := imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Photo(300, 200), 90), imagingtest.EXIF{Orientation: 6}.TIFF())
	ts.s3.Add("images", "upload/turned.jpg", turned)
	// Content, not the name, says what a file is.
	ts.s3.Add("images", "upload/really-a-png.gif", imagingtest.Encode(t, "png", imagingtest.Photo(100, 100)))
	for key, want := range map[string]string{"upload/red.png": "Red", "upload/turned.jpg": "Portrait", "upload/really-a-png.gif": "Square"} {
		out, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", key)})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if _, ok := labelNames(out)[want]; !ok {
			t.Errorf("%s: no %s in %v", key, want, labelNames(out))
		}
	}
}

func solid(w, h int, c color.Color) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, c)
		}
	}
	return m
}

func TestDetectLabelsRefusesOtherFormats(t *testing.T) {
	ts := newTwin(t, nil)
	photo := imagingtest.Photo(120, 90)
	files := map[string][]byte{
		"gif":  imagingtest.Encode(t, "gif", photo),
		"bmp":  imagingtest.Encode(t, "bmp", photo),
		"tiff": imagingtest.Encode(t, "tiff", photo),
		"webp": webpSolid(120, 90, color.NRGBA{200, 30, 30, 255}),
		"heic": append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...),
		"text": []byte("not an image at all, just some words"),
		// A JPEG's magic with nothing after it: Rekognition cannot read it either.
		"cut jpeg": imagingtest.JPEG(photo, 90)[:300],
	}
	for name, b := range files {
		_, err := ts.detect(&rekognition.DetectLabelsInput{Image: bytesImage(b)})
		var iif *types.InvalidImageFormatException
		if !errors.As(err, &iif) {
			t.Errorf("%s bytes: got %v, want InvalidImageFormatException", name, err)
		}
		ts.s3.Add("images", "upload/"+name+".jpg", b)
		_, err = ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "upload/"+name+".jpg")})
		if !errors.As(err, &iif) {
			t.Errorf("%s from S3: got %v, want InvalidImageFormatException", name, err)
		}
	}
}

func TestDetectLabelsSizeLimits(t *testing.T) {
	ts := newTwin(t, nil)
	over := func(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, n-8)...) }
	ts.s3.Add("images", "big.png", over(labels.MaxS3Bytes+1))
	// Gray is cheap to encode at these sizes.
	gray := func(w, h int) *image.Gray { return image.NewGray(image.Rect(0, 0, w, h)) }
	ts.s3.Add("images", "wide.png", imagingtest.Encode(t, "png", gray(labels.MaxSide+1, 80)))
	ts.s3.Add("images", "widest.png", imagingtest.Encode(t, "png", gray(labels.MaxSide, 80)))
	ts.s3.Add("images", "narrow.png", imagingtest.Encode(t, "png", imagingtest.Photo(labels.MinSide-1, 100)))
	ts.s3.Add("images", "smallest.png", imagingtest.Encode(t, "png", imagingtest.Photo(labels.MinSide, labels.MinSide)))

	var tooLarge *types.ImageTooLargeException
	var invalid *types.InvalidParameterException
	if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: bytesImage(over(labels.MaxInlineBytes + 1))}); !errors.As(err, &tooLarge) {
		t.Errorf("bytes over 5 MiB: %v", err)
	}
	if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "big.png")}); !errors.As(err, &tooLarge) {
		t.Errorf("object over 15 MiB: %v", err)
	}
	if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "wide.png")}); !errors.As(err, &tooLarge) {
		t.Errorf("over 10000 pixels: %v", err)
	} else if msg := tooLarge.ErrorMessage(); !strings.Contains(msg, "10001 x 80") {
		t.Errorf("message %q does not say the dimensions", msg)
	}
	if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "narrow.png")}); !errors.As(err, &invalid) {
		t.Errorf("under 80 pixels: %v", err)
	}
	for _, key := range []string{"widest.png", "smallest.png"} {
		if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", key)}); err != nil {
			t.Errorf("%s, at the limit: %v", key, err)
		}
	}
}

func TestDetectLabelsMissingObject(t *testing.T) {
	ts := newTwin(t, nil)
	ts.s3.Add("images", "upload/a.png", imagingtest.Encode(t, "png", imagingtest.Photo(100, 100)))
	for _, img := range []*types.Image{
		s3Image("images", "upload/missing.png"),
		s3Image("nobucket", "upload/a.png"),
		{S3Object: &types.S3Object{Bucket: aws.String("images"), Name: aws.String("upload/a.png"), Version: aws.String("v1")}},
	} {
		_, err := ts.detect(&rekognition.DetectLabelsInput{Image: img})
		var e *types.InvalidS3ObjectException
		if !errors.As(err, &e) || !strings.Contains(e.ErrorMessage(), "Unable to get object metadata from S3") {
			t.Errorf("%+v: got %v, want InvalidS3ObjectException", *img.S3Object, err)
		}
	}
}

// A store need not know this package: its fs.ErrNotExist says the same.
func TestDetectLabelsStoreNotExist(t *testing.T) {
	ts := newTwin(t, fmt.Errorf("open objects/images/upload/a.png: %w", fs.ErrNotExist))
	_, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "upload/a.png")})
	var e *types.InvalidS3ObjectException
	if !errors.As(err, &e) {
		t.Errorf("got %v, want InvalidS3ObjectException", err)
	}
}

func TestDetectLabelsStoreFailure(t *testing.T) {
	ts := newTwin(t, errors.New("disk on fire"))
	_, err := ts.detect(&rekognition.DetectLabelsInput{Image: s3Image("images", "upload/a.png")})
	var e *types.InternalServerError
	if !errors.As(err, &e) {
		t.Errorf("got %v, want InternalServerError", err)
	}
}

func TestDetectLabelsImageSources(t *testing.T) {
	ts := newTwin(t, nil)
	png := imagingtest.Encode(t, "png", imagingtest.Photo(100, 100))
	ts.s3.Add("images", "a.png", png)
	for name, img := range map[string]*types.Image{
		"both":    {Bytes: png, S3Object: &types.S3Object{Bucket: aws.String("images"), Name: aws.String("a.png")}},
		"neither": {},
		"no name": {S3Object: &types.S3Object{Bucket: aws.String("images")}},
	} {
		_, err := ts.detect(&rekognition.DetectLabelsInput{Image: img})
		var e *types.InvalidParameterException
		if !errors.As(err, &e) {
			t.Errorf("%s: got %v, want InvalidParameterException", name, err)
		}
	}
}

func TestDetectLabelsParameters(t *testing.T) {
	ts := newTwin(t, nil)
	img := bytesImage(imagingtest.JPEG(imagingtest.Photo(300, 200), 90))
	all, err := ts.detect(&rekognition.DetectLabelsInput{Image: img, MinConfidence: aws.Float32(0)})
	if err != nil || len(all.Labels) < 3 {
		t.Fatalf("all labels: %v, %v", labelNames(all), err)
	}
	two, err := ts.detect(&rekognition.DetectLabelsInput{Image: img, MaxLabels: aws.Int32(2), MinConfidence: aws.Float32(0)})
	if err != nil || len(two.Labels) != 2 || aws.ToString(two.Labels[0].Name) != aws.ToString(all.Labels[0].Name) {
		t.Errorf("MaxLabels 2: %v, %v", labelNames(two), err)
	}
	high, err := ts.detect(&rekognition.DetectLabelsInput{Image: img, MinConfidence: aws.Float32(99)})
	if err != nil || len(high.Labels) == 0 || len(high.Labels) >= len(all.Labels) {
		t.Errorf("MinConfidence 99: %v, %v", labelNames(high), err)
	}
	zero, err := ts.detect(&rekognition.DetectLabelsInput{Image: img, MaxLabels: aws.Int32(0)})
	if err != nil || zero.Labels == nil || len(zero.Labels) != 0 {
		t.Errorf("MaxLabels 0: %+v, %v", zero, err)
	}
	if _, err := ts.detect(&rekognition.DetectLabelsInput{Image: img, Features: []types.DetectLabelsFeatureName{types.DetectLabelsFeatureNameGeneralLabels}}); err != nil {
		t.Errorf("GENERAL_LABELS: %v", err)
	}

	for name, tc := range map[string]struct {
		in   rekognition.DetectLabelsInput
		code string
		says string
	}{
		"MinConfidence over 100": {rekognition.DetectLabelsInput{Image: img, MinConfidence: aws.Float32(101)}, "ValidationException", "'minConfidence'"},
		"MinConfidence under 0":  {rekognition.DetectLabelsInput{Image: img, MinConfidence: aws.Float32(-1)}, "ValidationException", "'minConfidence'"},
		"MaxLabels under 0":      {rekognition.DetectLabelsInput{Image: img, MaxLabels: aws.Int32(-1)}, "ValidationException", "'maxLabels'"},
		"bucket pattern":         {rekognition.DetectLabelsInput{Image: s3Image("my bucket", "k")}, "ValidationException", "'image.s3Object.bucket'"},
		"unknown feature":        {rekognition.DetectLabelsInput{Image: img, Features: []types.DetectLabelsFeatureName{"FACES"}}, "ValidationException", "'features'"},
		"IMAGE_PROPERTIES":       {rekognition.DetectLabelsInput{Image: img, Features: []types.DetectLabelsFeatureName{types.DetectLabelsFeatureNameImageProperties}}, "InvalidParameterException", "IMAGE_PROPERTIES"},
		"Settings":               {rekognition.DetectLabelsInput{Image: img, Settings: &types.DetectLabelsSettings{GeneralLabels: &types.GeneralLabelsSettings{LabelInclusionFilters: []string{"Red"}}}}, "InvalidParameterException", "Settings"},
	} {
		_, err := ts.detect(&tc.in)
		if msg := wantCode(t, err, tc.code); !strings.Contains(msg, tc.says) {
			t.Errorf("%s: message %q does not name %s", name, msg, tc.says)
		}
	}
}

func TestUnknownOperation(t *testing.T) {
	ts := newTwin(t, nil)
	_, err := ts.client.DetectText(context.Background(), &rekognition.DetectTextInput{Image: bytesImage([]byte{1})})
	if msg := wantCode(t, err, "UnknownOperationException"); !strings.Contains(msg, "RekognitionService.DetectText") {
		t.Errorf("message %q does not name the operation", msg)
	}
	if got := ts.rec.last(t).target; got != "RekognitionService.DetectText" {
		t.Errorf("target %q", got)
	}
}

// post sends a raw JSON 1.1 request and returns the status, headers and decoded body.
func post(t *testing.T, url, target, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

func TestWireShapes(t *testing.T) {
	ts := newTwin(t, nil)
	const dl, ct = "RekognitionService.DetectLabels", "application/x-amz-json-1.1"
	ts.s3.Add("images", "a.png", imagingtest.Encode(t, "png", imagingtest.Photo(100, 100)))

	status, h, out := post(t, ts.url, dl, ct, `{"Image":{"S3Object":{"Bucket":"images","Name":"a.png"}},"MaxLabels":1}`)
	labels, _ := out["Labels"].([]any)
	if status != 200 || h.Get("Content-Type") != ct || h.Get("x-amzn-RequestId") == "" || out["LabelModelVersion"] != "3.0" || len(labels) != 1 {
		t.Fatalf("%d %v %v", status, h, out)
	}
	if _, ok := out["OrientationCorrection"]; ok {
		t.Error("OrientationCorrection present: DetectLabels never returns it")
	}
	l := labels[0].(map[string]any)
	for _, k := range []string{"Name", "Confidence", "Instances", "Parents", "Aliases", "Categories"} {
		if _, ok := l[k]; !ok {
			t.Errorf("label has no %s: %v", k, l)
		}
	}

	// Rekognition's own exceptions: the name in __type, Code and the header.
	status, h, out = post(t, ts.url, dl, ct, `{"Image":{"S3Object":{"Bucket":"images","Name":"missing.png"}}}`)
	if status != 400 || h.Get("X-Amzn-ErrorType") != "InvalidS3ObjectException" || out["__type"] != "InvalidS3ObjectException" ||
		out["Code"] != "InvalidS3ObjectException" || out["Logref"] == nil || out["Message"] == nil {
		t.Errorf("InvalidS3ObjectException: %d %v %v", status, h, out)
	}
	for _, tc := range []struct{ target, contentType, body, code, says string }{
		{dl, ct, `{"Image":{"Bytes":"not base64!"}}`, "SerializationException", ""},
		{dl, ct, `{"Image":`, "SerializationException", ""},
		{dl, ct, `{"Image":{"Bytes":""}}`, "ValidationException", "'image.bytes'"},
		{dl, ct, `{}`, "ValidationException", "'image'"},
		{dl, ct, `{"Image":{"Bytes":"AAAA"},"Colour":"red"}`, "InvalidParameterException", `"Colour"`},
		{dl, "application/json", `{}`, "UnknownOperationException", "application/json"},
		{"", ct, `{}`, "UnknownOperationException", "DetectLabels only"},
		{"RekognitionService.IndexFaces", ct, `{}`, "UnknownOperationException", "IndexFaces"},
	} {
		status, h, out := post(t, ts.url, tc.target, tc.contentType, tc.body)
		msg, _ := out["message"].(string)
		if m, ok := out["Message"].(string); ok {
			msg = m
		}
		if status != 400 || out["__type"] != tc.code || h.Get("X-Amzn-ErrorType") != tc.code || !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s: %d %v", tc.target, tc.body, status, out)
		}
	}
}

// webpSolid is a lossless WebP (VP8L) of one colour: five one-symbol prefix codes,
// so that every pixel takes no bits at all. imagingtest has no WebP encoder (the
// standard library and x/image decode WebP only).
func webpSolid(w, h int, c color.NRGBA) []byte {
	var bits uint64
	var n uint
	var out []byte
	put := func(v uint64, width uint) {
		bits |= v << n
		for n += width; n >= 8; n -= 8 {
			out = append(out, byte(bits))
			bits >>= 8
		}
	}
	out = append(out, 0x2f) // VP8L signature
	put(uint64(w-1), 14)
	put(uint64(h-1), 14)
	put(1, 1)                                            // alpha is used
	put(0, 3)                                            // version
	put(0, 1)                                            // no transform
	put(0, 1)                                            // no colour cache
	put(0, 1)                                            // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} { // green, red, blue, alpha, distance
		put(1, 1) // simple code
		put(0, 1) // one symbol
		put(1, 1) // of 8 bits
		put(uint64(sym), 8)
	}
	if n > 0 {
		out = append(out, byte(bits))
	}
	if len(out)%2 == 1 {
		out = append(out, 0) // chunks are padded to even lengths
	}
	riff := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(riff[4:], uint32(4+8+len(out)))
	binary.LittleEndian.PutUint32(riff[16:], uint32(len(out)))
	return append(riff, out...)
}

func TestWebPSolidDecodes(t *testing.T) {
	m, format, err := imaging.DecodeBytes(webpSolid(5, 3, color.NRGBA{200, 30, 30, 255}), imaging.DefaultLimits, 0)
	if err != nil || format != imaging.WebP {
		t.Fatalf("%s: %v", format, err)
	}
	if m.Bounds().Size() != image.Pt(5, 3) || !imagingtest.Near(m.At(4, 2), color.RGBA{200, 30, 30, 255}, 0) {
		t.Errorf("decoded %v, %v", m.Bounds(), m.At(4, 2))
	}
}

// Calls counts the images Rekognition would bill: answered calls, not refused ones.
func TestCallsCountsBilledImages(t *testing.T) {
	svc := twin.New(twin.Options{Objects: objectStore{s3: imagingtest.NewFakeS3()}, Limits: imaging.DefaultLimits})
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	client := rekognition.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}, func(o *rekognition.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()
	for range 2 {
		if _, err := client.DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: bytesImage(imagingtest.JPEG(imagingtest.Photo(300, 200), 90))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: bytesImage([]byte("not an image at all"))}); err == nil {
		t.Fatal("text labelled")
	}
	if n := svc.Calls(); n != 2 {
		t.Errorf("Calls() = %d, want 2 (the refused call is not billed)", n)
	}
}
