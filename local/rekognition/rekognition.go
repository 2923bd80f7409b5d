// Package rekognition is Amazon Rekognition's DetectLabels on the twin's edge: the
// JSON 1.1 protocol (POST /, X-Amz-Target: RekognitionService.DetectLabels,
// Content-Type application/x-amz-json-1.1) with Rekognition's input rules and error
// names, answered by the local pixel labeler of functions/labels, which measures
// colours, light and shape and claims nothing it cannot measure. Any other
// operation is an UnknownOperationException naming it.
//
// The rules, from "Guidelines and quotas in Amazon Rekognition", the DetectLabels,
// Image and S3Object API reference, its error-handling page and the API model's
// constraints:
//   - Image holds exactly one of Bytes (at most 5 MiB decoded) and S3Object (Bucket
//     and Name, optional Version; the object at most 15 MiB); a missing object or
//     bucket is InvalidS3ObjectException, an image over a size limit
//     ImageTooLargeException.
//   - JPEG or PNG, recognised by content: anything else, or a file that does not
//     decode, is InvalidImageFormatException.
//   - Width and height from 80 to 10000 pixels: over is ImageTooLargeException, under
//     InvalidParameterException (what Rekognition answers for a small image).
//   - MaxLabels at least 0 (default 1000, the most Rekognition returns),
//     MinConfidence 0-100 (default 55): out of range is a ValidationException in the
//     words of AWS's request validation.
//
// Where the twin stops short of Rekognition it says so in the error rather than
// answering differently: Features may only be GENERAL_LABELS (IMAGE_PROPERTIES is
// refused), Settings is refused, and a member DetectLabels does not have is refused
// (Rekognition ignores it). Labels carry the labeler's parents (Color, Lighting,
// Shape, Color Region); Instances, Aliases and Categories are empty, and
// OrientationCorrection is absent, as DetectLabels always leaves it. JPEG EXIF
// orientation is applied before labelling, as Rekognition applies it; PNGs are
// taken as stored. Access control is not checked here (IAM comes later).
package rekognition

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/local/quota"
)

// Objects reads the S3 objects that requests name (the twin's S3 store).
type Objects interface {
	// Get returns an object's bytes; version "" means the current version. A
	// missing bucket, key or version is a *NoSuchObjectError, or any error that
	// errors.Is fs.ErrNotExist (so that a store need not import this package).
	Get(ctx context.Context, bucket, key, version string) ([]byte, error)
}

// NoSuchObjectError is a bucket, key or version that does not exist: Rekognition
// answers it with InvalidS3ObjectException.
type NoSuchObjectError struct {
	Bucket, Key, Version string
}

func (e *NoSuchObjectError) Error() string {
	s := fmt.Sprintf("no such object s3://%s/%s", e.Bucket, e.Key)
	if e.Version != "" {
		s += " version " + e.Version
	}
	return s
}

// Is makes a NoSuchObjectError an fs.ErrNotExist, the one test the service makes.
func (e *NoSuchObjectError) Is(target error) bool { return target == fs.ErrNotExist }

// targetPrefix is the JSON protocol's target prefix for Rekognition (the API
// model's targetPrefix).
const targetPrefix = "RekognitionService."

// maxRequestBytes bounds what is read of a request: a body of this size can only be
// carrying more image bytes than Rekognition accepts (5 MiB is 7 MiB in base64).
const maxRequestBytes = 8 << 20

// Options configure the service.
type Options struct {
	Objects Objects        // reads S3Object images
	Logger  *slog.Logger   // nil: no logging
	Limits  imaging.Limits // bound decoding, as in the pipeline's steps; zero fields take imaging's defaults
	// TPS is the account's DetectLabels transactions-per-second quota (nil: none).
	// A call past it is ProvisionedThroughputExceededException, the exception the
	// API reference documents as "The number of requests exceeded your throughput
	// limit" (ThrottlingException is Rekognition being "temporarily unable to
	// process the request", not a quota); 50 TPS in us-east-1 by default
	// (https://docs.aws.amazon.com/general/latest/gr/rekognition.html, read 2026-11-29).
	TPS *quota.Bucket
}

// Service answers Rekognition requests.
type Service struct {
	objects Objects
	log     *slog.Logger
	limits  imaging.Limits
	tps     *quota.Bucket
	billed  atomic.Int64 // DetectLabels calls answered with labels: what Rekognition charges for
}

// Calls is how many DetectLabels calls the service has answered with labels (the
// images Rekognition would bill), for tests and the cost figures.
func (s *Service) Calls() int64 { return s.billed.Load() }

// New returns the service.
func New(o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{objects: o.Objects, log: log, limits: o.Limits, tps: o.TPS}
}

// Handler serves requests already known to be Rekognition's (the edge dispatches by
// the SigV4 service name, or by X-Amz-Target).
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// serve answers one request.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	reqID := newID()
	w.Header().Set("x-amzn-RequestId", reqID)
	target := r.Header.Get("X-Amz-Target")
	op, _ := strings.CutPrefix(target, targetPrefix)
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if r.Method != http.MethodPost || op != "DetectLabels" || strings.TrimSpace(ct) != "application/x-amz-json-1.1" {
		s.fail(w, r, op, unknownOperation(r.Method, target, ct))
		return
	}
	if !s.tps.Allow() {
		s.fail(w, r, op, throughputExceeded())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		s.fail(w, r, op, serialization("could not read the request body: %v", err))
		return
	}
	if len(body) > maxRequestBytes {
		s.fail(w, r, op, imageTooLarge(msgTooLarge))
		return
	}
	out, aerr := s.detectLabels(r.Context(), body)
	if aerr != nil {
		s.fail(w, r, op, aerr)
		return
	}
	// One line per billed image, as CloudTrail would record the call: the end-to-end
	// tests count them to prove that a duplicate upload is not labelled twice.
	s.log.Info("rekognition DetectLabels", "labels", len(out.Labels), "requestId", reqID, "billedCalls", s.billed.Add(1))
	writeJSON(w, http.StatusOK, out)
}

// newID is a random RFC 4122 version 4 UUID, the form of Rekognition's request ids
// and Logrefs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
