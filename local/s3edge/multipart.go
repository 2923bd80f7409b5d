package s3edge

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	bolt "go.etcd.io/bbolt"
)

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxCompleteBody bounds a CompleteMultipartUpload request: 10,000 parts, each with
// its number, ETag and a checksum, fit in well under this.
const maxCompleteBody = 4 << 20

// createUpload answers CreateMultipartUpload (POST /bucket/key?uploads).
func (s *Server) createUpload(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := checkKeyLength(rq.key); err != nil {
		return err
	}
	meta, err := objectMeta(r.Header, s.opts.Now())
	if err != nil {
		return err
	}
	tags, err := headerTags(r.Header)
	if err != nil {
		return err
	}
	id := randomName() + randomName()
	if err := s.store.createUpload(id, upload{Bucket: rq.bucket, Key: rq.key, Meta: meta, Tags: tags, Initiated: s.opts.Now().UTC()}); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: id})
	return nil
}

// uploadPart answers UploadPart (PUT /bucket/key?partNumber=N&uploadId=ID). The
// body streams to a file; only its record's commit waits for the upload's lock.
func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, rq *request, id string) error {
	raw := rq.q.Get("partNumber")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPartNumber {
		return errInvalidArgument("partNumber", raw, "Part number must be an integer between 1 and 10000, inclusive")
	}
	if r.Header.Get("X-Amz-Copy-Source") != "" {
		return s.uploadPartCopy(w, r, rq, id, n)
	}
	size, err := bodySize(r)
	if err != nil {
		return err
	}
	if size > maxPutSize {
		return errEntityTooLarge(size, maxPutSize)
	}
	if _, _, err := s.store.getUpload(id, rq.bucket, rq.key); err != nil {
		return err
	}
	d, err := newDigests(r.Header)
	if err != nil {
		return err
	}
	file, err := s.receive(r.Body, size, d, s.store.parts)
	if err != nil {
		return err
	}
	unlock := s.locks.rlock(uploadLockName(id))
	err = s.store.putPart(id, rq.bucket, rq.key, n, part{File: file, Size: size, MD5: d.md5.Sum(nil), LastModified: s.opts.Now().UTC()})
	unlock()
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+hex.EncodeToString(d.md5.Sum(nil))+`"`)
	d.echo(w)
	w.WriteHeader(http.StatusOK)
	return nil
}

// uploadPartCopy answers UploadPartCopy (UploadPart with x-amz-copy-source and an
// optional x-amz-copy-source-range "bytes=first-last"): the part is the range of
// an existing object, at most 5 GiB (a larger source must be copied in ranges);
// part sizes are checked at completion, as for uploaded parts
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html).
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request, rq *request, id string, n int) error {
	srcBucket, srcKey, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return err
	}
	if _, _, err := s.store.getUpload(id, rq.bucket, rq.key); err != nil {
		return err
	}
	src, f, err := s.openCopySource(r, srcBucket, srcKey)
	if err != nil {
		return err
	}
	defer f.Close()
	start, length, err := copyRange(r.Header.Get("X-Amz-Copy-Source-Range"), src.Size)
	if err != nil {
		return err
	}
	if length > maxPutSize {
		return newError(400, "InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: "+strconv.Itoa(maxPutSize))
	}
	sum := md5.New()
	file, size, err := s.store.writeFile(s.store.parts, io.NewSectionReader(f, start, length), sum)
	if err != nil {
		return err
	}
	now := s.opts.Now().UTC()
	unlock := s.locks.rlock(uploadLockName(id))
	err = s.store.putPart(id, rq.bucket, rq.key, n, part{File: file, Size: size, MD5: sum.Sum(nil), LastModified: now})
	unlock()
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string
		ETag         string
	}{Xmlns: s3Namespace, LastModified: now.Format(isoTime), ETag: `"` + hex.EncodeToString(sum.Sum(nil)) + `"`})
	return nil
}

// copyRange reads x-amz-copy-source-range against a source of size bytes: the
// whole source when absent; otherwise both offsets, within the source.
func copyRange(v string, size int64) (start, length int64, err error) {
	if v == "" {
		return 0, size, nil
	}
	spec, ok := strings.CutPrefix(v, "bytes=")
	a, b, ok2 := strings.Cut(spec, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, errInvalidArgument("x-amz-copy-source-range", v, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	if last >= size {
		return 0, 0, errInvalidArgument("x-amz-copy-source-range", v, "Range specified is not valid for source object of size: "+strconv.FormatInt(size, 10))
	}
	return first, last - first + 1, nil
}

// completeRequest is CompleteMultipartUpload's body.
type completeRequest struct {
	Parts []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

// completeUpload answers CompleteMultipartUpload (POST /bucket/key?uploadId=ID):
// checks the part list as S3 does, concatenates the parts into the object, and
// commits the object, its event and the upload's removal in one transaction.
func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request, rq *request, id string) error {
	if err := checkKeyLength(rq.key); err != nil {
		return err
	}
	var req completeRequest
	if err := decodeXML(r.Body, maxCompleteBody, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return errMalformedXML()
	}
	unlock := s.locks.lock(uploadLockName(id))
	defer unlock()
	if res, ok := s.completed.get(id, rq.bucket, rq.key); ok {
		writeXML(w, http.StatusOK, res) // a retry of a completion that committed
		return nil
	}
	u, parts, err := s.store.getUpload(id, rq.bucket, rq.key)
	if err != nil {
		return err
	}
	chosen, total, err := checkParts(id, req, parts)
	if err != nil {
		return err
	}
	blob, sum, etag, err := s.store.assemble(chosen)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	meta := copyMeta(u.Meta)
	meta["Last-Modified"] = now.UTC().Format(http.TimeFormat)
	var files []string
	op := putOp{
		bucket: rq.bucket, key: rq.key, cond: conditionsFrom(r.Header),
		rec:   record{Blob: blob, Size: total, MD5: sum, ETag: etag, Meta: meta, Tags: u.Tags, LastModified: now.UTC()},
		event: s.eventBase(r, rq, pipeline.DetailTypeCreated, ReasonMultipart),
		also: func(tx *bolt.Tx) (err error) {
			files, err = dropUploadTx(tx, id, rq.bucket, rq.key)
			return err
		},
	}
	committed, err := s.commitPut(r.Context(), op)
	if !committed {
		return err
	}
	s.store.unlink(s.store.parts, files...)
	res := completeResult{Xmlns: s3Namespace, Location: location(r, rq), Bucket: rq.bucket, Key: rq.key, ETag: `"` + etag + `"`}
	s.completed.put(id, rq.bucket, rq.key, res)
	if err != nil {
		return err // stored, event pending: 503, and the retry finds the completion
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

func location(r *http.Request, rq *request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/" + rq.bucket + "/" + EventKey(rq.key)
}

// checkParts applies S3's rules to a completion's part list: part numbers in
// ascending order, each an uploaded part with that ETag, every part but the last
// at least 5 MiB, the whole at most 5 TiB.
func checkParts(id string, req completeRequest, parts map[int]part) ([]part, int64, error) {
	prev := 0
	for _, cp := range req.Parts {
		if cp.PartNumber <= prev {
			return nil, 0, newError(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by the part number.")
		}
		prev = cp.PartNumber
	}
	chosen := make([]part, 0, len(req.Parts))
	for _, cp := range req.Parts {
		p, ok := parts[cp.PartNumber]
		if etag := strings.Trim(cp.ETag, `"`); !ok || etag != hex.EncodeToString(p.MD5) {
			e := newError(400, "InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
			e.UploadID, e.PartNumber, e.ETag = id, strconv.Itoa(cp.PartNumber), etag
			return nil, 0, e
		}
		chosen = append(chosen, p)
	}
	var total int64
	for i, p := range chosen {
		if i < len(chosen)-1 && p.Size < minPartSize {
			e := newError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
			e.ProposedSize, e.MinSizeAllowed = strconv.FormatInt(p.Size, 10), strconv.Itoa(minPartSize)
			e.PartNumber, e.ETag = strconv.Itoa(req.Parts[i].PartNumber), hex.EncodeToString(p.MD5)
			return nil, 0, e
		}
		total += p.Size
	}
	if total > maxObjectSize {
		return nil, 0, errEntityTooLarge(total, maxObjectSize)
	}
	return chosen, total, nil
}

// abortUpload answers AbortMultipartUpload (DELETE /bucket/key?uploadId=ID).
func (s *Server) abortUpload(w http.ResponseWriter, rq *request, id string) error {
	unlock := s.locks.lock(uploadLockName(id))
	defer unlock()
	if err := s.store.abortUpload(id, rq.bucket, rq.key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listParts answers ListParts (GET /bucket/key?uploadId=ID).
func (s *Server) listParts(w http.ResponseWriter, rq *request, id string) error {
	maxParts, err := queryInt(rq.q, "max-parts", maxListedParts)
	if err != nil {
		return err
	}
	marker, err := queryInt(rq.q, "part-number-marker", 0)
	if err != nil {
		return err
	}
	_, parts, err := s.store.getUpload(id, rq.bucket, rq.key)
	if err != nil {
		return err
	}
	type partItem struct {
		PartNumber   int
		LastModified string
		ETag         string
		Size         int64
	}
	out := struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		Xmlns                string   `xml:"xmlns,attr"`
		Bucket               string
		Key                  string
		UploadID             string `xml:"UploadId"`
		StorageClass         string
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Parts                []partItem `xml:"Part"`
	}{Xmlns: s3Namespace, Bucket: rq.bucket, Key: rq.key, UploadID: id, StorageClass: "STANDARD",
		PartNumberMarker: marker, MaxParts: min(maxParts, maxListedParts)}
	for n := marker + 1; n <= maxPartNumber; n++ {
		p, ok := parts[n]
		if !ok {
			continue
		}
		if len(out.Parts) == out.MaxParts {
			out.IsTruncated = true
			break
		}
		out.Parts = append(out.Parts, partItem{n, p.LastModified.UTC().Format(isoTime), `"` + hex.EncodeToString(p.MD5) + `"`, p.Size})
		out.NextPartNumberMarker = n
	}
	writeXML(w, http.StatusOK, out)
	return nil
}

// listUploads answers ListMultipartUploads (GET /bucket?uploads).
func (s *Server) listUploads(w http.ResponseWriter, rq *request) error {
	if rq.q.Get("delimiter") != "" {
		return errNotImplemented("delimiter in ListMultipartUploads")
	}
	if err := s.checkBucket(rq.bucket); err != nil {
		return err
	}
	maxUploads, err := queryInt(rq.q, "max-uploads", maxListedUploads)
	if err != nil {
		return err
	}
	all, err := s.store.uploads()
	if err != nil {
		return err
	}
	prefix, keyMarker, idMarker := rq.q.Get("prefix"), rq.q.Get("key-marker"), rq.q.Get("upload-id-marker")
	type item struct {
		Key          string
		UploadID     string `xml:"UploadId"`
		StorageClass string
		Initiated    string
	}
	out := struct {
		XMLName            xml.Name `xml:"ListMultipartUploadsResult"`
		Xmlns              string   `xml:"xmlns,attr"`
		Bucket             string
		KeyMarker          string
		UploadIDMarker     string `xml:"UploadIdMarker"`
		NextKeyMarker      string
		NextUploadIDMarker string `xml:"NextUploadIdMarker"`
		Prefix             string
		MaxUploads         int
		IsTruncated        bool
		Uploads            []item `xml:"Upload"`
	}{Xmlns: s3Namespace, Bucket: rq.bucket, KeyMarker: keyMarker, UploadIDMarker: idMarker, Prefix: prefix, MaxUploads: min(maxUploads, maxListedUploads)}
	pastMarker := keyMarker == ""
	for _, u := range all {
		if u.Bucket != rq.bucket || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		if !pastMarker {
			// After key-marker; with upload-id-marker, also the same key's later uploads.
			if u.Key < keyMarker || (u.Key == keyMarker && (idMarker == "" || u.id != idMarker)) {
				continue
			}
			pastMarker = true
			if u.Key == keyMarker {
				continue
			}
		}
		if len(out.Uploads) == out.MaxUploads {
			out.IsTruncated = true
			break
		}
		out.Uploads = append(out.Uploads, item{u.Key, u.id, "STANDARD", u.Initiated.UTC().Format(isoTime)})
		out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.id
	}
	writeXML(w, http.StatusOK, out)
	return nil
}

const isoTime = "2006-01-02T15:04:05.000Z"

func queryInt(q map[string][]string, name string, def int) (int, error) {
	v, ok := q[name]
	if !ok || len(v) == 0 || v[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return 0, errInvalidArgument(name, v[0], fmt.Sprintf("Provided %s not an integer or within integer range", name))
	}
	return n, nil
}

// ExpireUploads aborts the multipart uploads that the bucket's lifecycle rule
// (AbortIncompleteMultipartUpload) has expired, and returns how many it aborted.
// An upload being completed or aborted right now is left for the next run.
func (s *Server) ExpireUploads(context.Context) (int, error) {
	all, err := s.store.uploads()
	if err != nil {
		return 0, err
	}
	now, n := s.opts.Now(), 0
	for _, u := range all {
		days := s.opts.UploadExpiryDays(u.Bucket, u.Key)
		if days <= 0 || now.Before(abortAt(u.Initiated, days)) {
			continue
		}
		unlock, ok := s.locks.tryLock(uploadLockName(u.id))
		if !ok {
			continue
		}
		err := s.store.abortUpload(u.id, u.Bucket, u.Key)
		unlock()
		var se *s3Error
		if errors.As(err, &se) && se.Code == "NoSuchUpload" {
			continue // completed or aborted meanwhile
		}
		if err != nil {
			return n, err
		}
		s.log.Info("incomplete multipart upload expired", "bucket", u.Bucket, "key", u.Key, "uploadId", u.id,
			"initiated", u.Initiated, "days", days)
		n++
	}
	return n, nil
}

// completedUploads remembers recent completions, so that a client retrying a
// completion whose answer it lost (or that answered 503 after committing) gets
// the same answer instead of NoSuchUpload.
type completedUploads struct {
	mu sync.Mutex
	m  map[string]completedUpload
}

type completedUpload struct {
	bucket, key string
	res         completeResult
	at          time.Time
}

const completedTTL = 10 * time.Minute

func (c *completedUploads) get(id, bucket, key string) (completeResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.bucket != bucket || e.key != key || time.Since(e.at) > completedTTL {
		return completeResult{}, false
	}
	return e.res, true
}

func (c *completedUploads) put(id, bucket, key string, res completeResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]completedUpload{}
	}
	for k, e := range c.m {
		if time.Since(e.at) > completedTTL {
			delete(c.m, k)
		}
	}
	c.m[id] = completedUpload{bucket, key, res, time.Now()}
}

// decodeXML decodes a request body of at most limit bytes; anything malformed,
// truncated or too large is MalformedXML, as S3 answers. A read timeout stays one.
func decodeXML(body io.Reader, limit int64, v any) error {
	lr := &io.LimitedReader{R: body, N: limit + 1}
	err := xml.NewDecoder(lr).Decode(v)
	var se *s3Error
	switch {
	case errors.As(err, &se):
		return se
	case err != nil || lr.N <= 0:
		return errMalformedXML()
	}
	return nil
}
