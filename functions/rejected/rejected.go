// Package rejected tags the uploads the pipeline refuses for good (not an image, an
// unsupported format, corrupt, too large) with pipeline.RejectedTagKey, so that the
// bucket's lifecycle rule expires them: nobody's photo stays in the bucket forever
// because it failed.
package rejected

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Tagger is the part of *s3.Client that tags an object.
type Tagger interface {
	PutObjectTagging(ctx context.Context, in *s3.PutObjectTaggingInput, opts ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error)
}

// Permanent reports whether err is one the pipeline meets again on the same bytes
// (the failure queue's "permanent"; redrive.PermanentErrorNames lists the same).
func Permanent(err error) bool {
	var (
		notImage    *pipeline.NotAnImageError
		unsupported *pipeline.UnsupportedFormatError
		corrupt     *pipeline.CorruptImageError
		tooLarge    *pipeline.ImageTooLargeError
	)
	return errors.As(err, &notImage) || errors.As(err, &unsupported) || errors.As(err, &corrupt) || errors.As(err, &tooLarge)
}

// Wrap returns h, tagging the event's object as rejected when h fails for good. The
// error h returned is returned unchanged (it is the state machine's contract); a
// tagging failure is logged, never swapped for it: the tag is housekeeping, the
// failure is what the execution must report.
func Wrap[Out any](t Tagger, h func(context.Context, pipeline.ObjectEvent) (Out, error)) func(context.Context, pipeline.ObjectEvent) (Out, error) {
	return func(ctx context.Context, ev pipeline.ObjectEvent) (Out, error) {
		out, err := h(ctx, ev)
		if err == nil || !Permanent(err) {
			return out, err
		}
		key, kerr := ev.Key()
		if kerr != nil {
			return out, err
		}
		if terr := Mark(ctx, t, ev.Detail.Bucket.Name, key); terr != nil {
			slog.WarnContext(ctx, "could not tag a rejected upload; the lifecycle rule will not expire it",
				"bucket", ev.Detail.Bucket.Name, "key", key, "reason", err.Error(), "error", terr.Error())
		} else {
			slog.InfoContext(ctx, "rejected upload tagged", "bucket", ev.Detail.Bucket.Name, "key", key, "reason", pipeline.ErrorName(err))
		}
		return out, err
	}
}

// Mark tags one object as rejected (replacing its tag set: uploads carry no other).
func Mark(ctx context.Context, t Tagger, bucket, key string) error {
	_, err := t.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(pipeline.RejectedTagKey), Value: aws.String(pipeline.RejectedTagValue)}}},
	})
	return err
}
