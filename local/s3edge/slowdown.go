package s3edge

import (
	"context"
	"net/http"
	"strings"

	"github.com/imagepipe/imagepipe/local/quota"
)

// RequestRates are S3's request-rate quotas: 3,500 PUT/COPY/POST/DELETE and 5,500
// GET/HEAD requests a second per partitioned prefix, past which S3 answers 503 Slow
// Down ("Best practices design patterns: optimizing Amazon S3 performance",
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html).
// S3 partitions a busy bucket by key prefix as load grows; the twin takes each key's
// first path segment ("upload/", "thumbnail/") as its partition, which is what a
// bucket laid out as this one is split into. Nil buckets: no limit.
type RequestRates struct {
	Writes, Reads *quota.Keyed
}

// SlowDowns counts the reads (GET, HEAD) and the writes answered 503 SlowDown since
// the server started.
func (s *Server) SlowDowns() (reads, writes uint64) {
	return s.slowDowns[0].Load(), s.slowDowns[1].Load()
}

// errSlowDown is S3's answer past a prefix's request rate.
func errSlowDown() *s3Error {
	return newError(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
}

// prefixOf is the partition a request counts against: the bucket and the key's
// first segment, or the bucket alone for bucket requests.
func prefixOf(bucket, key string) string {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return bucket + "/" + key[:i+1]
	}
	return bucket + "/"
}

// slowDown takes a token for the request from its prefix's bucket, or answers
// SlowDown. Reads are GET and HEAD; every other method writes.
func (s *Server) slowDown(r *http.Request, rq *request) error {
	b, kind := s.opts.Rates.Writes, 1
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		b, kind = s.opts.Rates.Reads, 0
	}
	if b.Allow(prefixOf(rq.bucket, rq.key)) {
		return nil
	}
	s.slowDowns[kind].Add(1)
	s.log.Info("request rate exceeded", "code", "SlowDown", "method", r.Method, "bucket", rq.bucket, "key", rq.key)
	return errSlowDown()
}

// waitRead takes a read token for the twin's own services' reads (Rekognition
// reading its S3Object): they wait rather than fail, as AWS's services retry their
// own reads, but they spend the prefix's rate as AWS's do.
func (s *Server) waitRead(ctx context.Context, bucket, key string) error {
	_, err := s.opts.Rates.Reads.Wait(ctx, prefixOf(bucket, key))
	return err
}
