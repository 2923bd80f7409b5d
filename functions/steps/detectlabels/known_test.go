package detectlabels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/objects"
	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex/searchindextest"
)

// objectEvent is the fixture's event for key with etag and size.
func objectEvent(t *testing.T, k, etag string, size int64) []byte {
	t.Helper()
	var ev pipeline.ObjectEvent
	if err := json.Unmarshal(fixture(t, "detect-labels-event.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.Detail.Object.Key, ev.Detail.Object.ETag, ev.Detail.Object.Size = k, etag, size
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// indexed is the document index-document writes for key after its branches ran.
func indexed(t *testing.T, k, etag string, body []byte, lb pipeline.Labels, uploaded time.Time) pipeline.Document {
	t.Helper()
	var ev pipeline.ObjectEvent
	if err := json.Unmarshal(objectEvent(t, k, etag, int64(len(body))), &ev); err != nil {
		t.Fatal(err)
	}
	ev.Time = uploaded
	return pipeline.NewDocument(pipeline.IndexInput{Event: ev, Labels: lb,
		Thumbnail: pipeline.Thumbnail{ContentSHA256: sha(body)}}, uploaded)
}

// failingKnown is an index that cannot answer.
type failingKnown struct{}

func (failingKnown) FindByObject(context.Context, string, int64) ([]pipeline.Document, error) {
	return nil, &pipeline.TransientError{Op: "opensearch POST /images/_search", Err: errors.New("503")}
}

func TestCopiesLabelsOfTheSameBytes(t *testing.T) {
	body := imagingtest.JPEG(imagingtest.Photo(200, 150), 90)
	const etag = "9b2cf535f27731c974343645a3985328"
	paid := pipeline.Labels{Labels: []pipeline.Label{{Name: "Lighthouse", Confidence: 97.1}}, Source: "rekognition", LabelledFrom: pipeline.LabelledOriginal}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	first := indexed(t, "upload/a.jpg", etag, body, paid, t0)

	other := imagingtest.JPEG(imagingtest.Photo(200, 150), 80) // other bytes, same forged ETag and size below
	for _, tc := range []struct {
		name      string
		docs      []pipeline.Document // in the index before the call
		known     Known               // nil: the index above
		key       string
		stored    []byte // what S3 holds under key
		wantCalls int    // DetectLabels calls
		wantFrom  string // labelsFrom
		wantGets  int    // S3 GETs
	}{
		{name: "first upload: nothing indexed", key: "upload/b.jpg", stored: body, wantCalls: 1, wantGets: 1},
		{name: "same bytes under another key", docs: []pipeline.Document{first}, key: "upload/b.jpg", stored: body, wantFrom: first.ID, wantGets: 1},
		{name: "a copy of a copy names the paying document", key: "upload/c.jpg", stored: body, wantFrom: first.ID, wantGets: 1,
			docs: []pipeline.Document{func() pipeline.Document {
				d := indexed(t, "upload/b.jpg", etag, body, paid, t0.Add(time.Minute))
				d.LabelsFrom = first.ID
				return d
			}()}},
		{name: "the same key again: its own labels, not a copy", docs: []pipeline.Document{first}, key: "upload/a.jpg", stored: body, wantGets: 1},
		{name: "equal ETag and size, other bytes (a forged MD5)", docs: []pipeline.Document{first}, key: "upload/b.jpg",
			stored: append(other, make([]byte, len(body)-len(other))...), wantCalls: 1, wantGets: 2},
		{name: "indexed but never labelled", key: "upload/b.jpg", stored: body, wantCalls: 1, wantGets: 1,
			docs: []pipeline.Document{func() pipeline.Document { d := first; d.LabelledFrom, d.Labels = "", nil; return d }()}},
		{name: "the index fails: labelled anew", known: failingKnown{}, key: "upload/b.jpg", stored: body, wantCalls: 1, wantGets: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(other) > len(body) {
				t.Fatalf("fixture: the other JPEG (%d bytes) must not be longer than the first (%d)", len(other), len(body))
			}
			ix := searchindextest.New()
			for _, d := range tc.docs {
				if _, err := ix.Upsert(context.Background(), d); err != nil {
					t.Fatal(err)
				}
			}
			var known Known = ix
			if tc.known != nil {
				known = tc.known
			}
			s3 := imagingtest.NewFakeS3()
			s3.Add(bucket, tc.key, tc.stored)
			stub := &stubLabeler{out: pipeline.Labels{Labels: []pipeline.Label{{Name: "Fresh", Confidence: 80}}, Source: "rekognition"}}
			h := Handler{Store: objects.Store{S3: s3}, Labeler: stub, Known: known}
			raw, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), objectEvent(t, tc.key, etag, int64(len(body))))
			if err != nil {
				t.Fatal(err)
			}
			var out pipeline.Labels
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			if stub.calls != tc.wantCalls {
				t.Errorf("DetectLabels calls %d, want %d", stub.calls, tc.wantCalls)
			}
			if out.LabelsFrom != tc.wantFrom {
				t.Errorf("labelsFrom %q, want %q", out.LabelsFrom, tc.wantFrom)
			}
			if s3.Gets != tc.wantGets {
				t.Errorf("S3 GETs %d (ranges %q), want %d", s3.Gets, s3.Ranges, tc.wantGets)
			}
			wantName, wantSource := "Fresh", "rekognition"
			if tc.wantCalls == 0 {
				wantName, wantSource = "Lighthouse", pipeline.SourceCopy
				if out.LabelledFrom != pipeline.LabelledOriginal {
					t.Errorf("labelledFrom %q, want the copied document's", out.LabelledFrom)
				}
			}
			if len(out.Labels) != 1 || out.Labels[0].Name != wantName || out.Source != wantSource {
				t.Errorf("output %s, want the label %s from %s", raw, wantName, wantSource)
			}
		})
	}
}

// The copy flows into the document: labelsFrom is stored beside the labels.
func TestDocumentRecordsTheCopy(t *testing.T) {
	d := pipeline.NewDocument(pipeline.IndexInput{
		Event:  pipeline.ObjectEvent{Detail: pipeline.ObjectDetail{Bucket: pipeline.BucketRef{Name: "images"}, Object: pipeline.ObjectRef{Key: "upload/b.jpg"}}},
		Labels: pipeline.Labels{Labels: []pipeline.Label{{Name: "Sky", Confidence: 90}}, LabelsFrom: "abc", LabelledFrom: pipeline.LabelledOriginal},
	}, time.Now())
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["labelsFrom"] != "abc" || m["labelledFrom"] != "original" {
		t.Errorf("document %s: want labelsFrom abc", raw)
	}
}
