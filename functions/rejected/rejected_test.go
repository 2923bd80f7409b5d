package rejected_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/redrive"
	"github.com/imagepipe/imagepipe/functions/rejected"
)

type tagger struct {
	calls []string
	err   error
}

func (t *tagger) PutObjectTagging(_ context.Context, in *s3.PutObjectTaggingInput, _ ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error) {
	for _, tg := range in.Tagging.TagSet {
		t.calls = append(t.calls, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Key)+" "+aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return &s3.PutObjectTaggingOutput{}, t.err
}

func event(key string) pipeline.ObjectEvent {
	var ev pipeline.ObjectEvent
	ev.Source, ev.DetailType = pipeline.SourceS3, pipeline.DetailTypeCreated
	ev.Detail.Bucket.Name, ev.Detail.Object.Key = "images", key
	return ev
}

func TestPermanentFailuresAreTaggedAndTheErrorKept(t *testing.T) {
	errs := []error{
		&pipeline.NotAnImageError{Reason: "text"},
		&pipeline.UnsupportedFormatError{Format: "xcf"},
		&pipeline.CorruptImageError{Format: "jpeg", Err: errors.New("truncated")},
		&pipeline.ImageTooLargeError{What: "bytes", Value: 2, Limit: 1},
		&pipeline.TransientError{Op: "get", Err: errors.New("reset")},
		&pipeline.ObjectNotFoundError{Bucket: "images", Key: "upload/x"},
	}
	for _, want := range errs {
		tg := &tagger{}
		h := rejected.Wrap(tg, func(context.Context, pipeline.ObjectEvent) (int, error) { return 0, want })
		_, err := h(context.Background(), event("upload/red+flower.txt"))
		if err != want {
			t.Errorf("%T: returned %v, want the handler's error unchanged", want, err)
		}
		name := pipeline.ErrorName(want)
		permanent := redrive.IsPermanentError(name)
		if rejected.Permanent(want) != permanent {
			t.Errorf("%s: Permanent %v, redrive says %v", name, rejected.Permanent(want), permanent)
		}
		wantCalls := []string(nil)
		if permanent {
			wantCalls = []string{"images/upload/red flower.txt imagepipe:status=rejected"}
		}
		if !slices.Equal(tg.calls, wantCalls) {
			t.Errorf("%s: tagged %q, want %q", name, tg.calls, wantCalls)
		}
	}
	// Every name redrive calls permanent is one Permanent knows.
	if len(redrive.PermanentErrorNames) != 4 {
		t.Errorf("redrive.PermanentErrorNames %v: update Permanent", redrive.PermanentErrorNames)
	}
}

func TestTaggingFailureKeepsTheHandlersError(t *testing.T) {
	tg := &tagger{err: errors.New("AccessDenied")}
	want := &pipeline.NotAnImageError{Reason: "text"}
	h := rejected.Wrap(tg, func(context.Context, pipeline.ObjectEvent) (string, error) { return "", want })
	if _, err := h(context.Background(), event("upload/a.txt")); err != want {
		t.Errorf("returned %v, want the handler's error", err)
	}
	ok := rejected.Wrap(tg, func(context.Context, pipeline.ObjectEvent) (string, error) { return "fine", nil })
	if out, err := ok(context.Background(), event("upload/b.jpg")); out != "fine" || err != nil || len(tg.calls) != 1 {
		t.Errorf("success: %q, %v, %d tag calls", out, err, len(tg.calls))
	}
}
