package s3edge

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Object tagging limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html):
// "You can associate up to 10 tags with an object. Tags that are associated with an
// object must have unique tag keys. A tag key can be up to 128 Unicode characters in
// length, and tag values can be up to 256 Unicode characters in length."
const (
	maxTags        = 10
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	maxTaggingBody = 64 << 10 // ten tags of 128 + 256 characters, escaped, fit well below
)

// Tag is one object tag. Tags keep the order they were given in, as S3 returns them.
type Tag struct {
	Key   string `json:"k" xml:"Key"`
	Value string `json:"v" xml:"Value"`
}

// tagging is the XML body of PutObjectTagging and GetObjectTagging, and the form
// field "tagging" of a POST Object.
type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	TagSet  struct {
		Tags []Tag `xml:"Tag"`
	} `xml:"TagSet"`
}

// checkTags applies S3's tag rules; an error is S3's (InvalidTag or BadRequest).
func checkTags(tags []Tag) error {
	if len(tags) > maxTags {
		return newError(400, "BadRequest", "Object tags cannot be greater than 10")
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value):
			return newError(400, "InvalidTag", "The tag provided was not a valid tag.")
		case t.Key == "":
			return newError(400, "InvalidTag", "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Key) > maxTagKeyLen:
			return newError(400, "InvalidTag", "The TagKey you have provided is too long, max 128")
		case utf8.RuneCountInString(t.Value) > maxTagValueLen:
			return newError(400, "InvalidTag", "The TagValue you have provided is too long, max 256")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return newError(400, "InvalidTag", "Your TagKey cannot be prefixed with aws:")
		case seen[t.Key]:
			return newError(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

// headerTags reads x-amz-tagging ("k1=v1&k2=v2", URL-encoded as a query string).
func headerTags(h http.Header) ([]Tag, error) {
	v, ok := h["X-Amz-Tagging"]
	if !ok {
		return nil, nil
	}
	return queryTags(strings.Join(v, "&"))
}

// queryTags parses tags in query-string form, keeping their order.
func queryTags(raw string) ([]Tag, error) {
	var tags []Tag
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errInvalidArgument("x-amz-tagging", raw, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
		}
		tags = append(tags, Tag{key, value})
	}
	return tags, checkTags(tags)
}

// xmlTags reads a Tagging document (PutObjectTagging's body, POST Object's field).
func xmlTags(body []byte) ([]Tag, error) {
	var t tagging
	if err := xml.Unmarshal(body, &t); err != nil {
		return nil, errMalformedXML()
	}
	return t.TagSet.Tags, checkTags(t.TagSet.Tags)
}

// routeTagging answers the ?tagging subresource of an object.
func (s *Server) routeTagging(w http.ResponseWriter, r *http.Request, rq *request) error {
	if v := rq.q.Get("versionId"); v != "" && v != "null" {
		return errInvalidArgument("versionId", v, "Invalid version id specified")
	}
	switch r.Method {
	case http.MethodGet:
		rec, err := s.store.lookup(rq.bucket, rq.key)
		if err != nil {
			return err
		}
		out := tagging{Xmlns: s3Namespace}
		out.TagSet.Tags = rec.Tags
		writeXML(w, http.StatusOK, out)
		return nil
	case http.MethodPut:
		var t tagging
		if err := decodeXML(r.Body, maxTaggingBody, &t); err != nil {
			return err
		}
		if err := checkTags(t.TagSet.Tags); err != nil {
			return err
		}
		if err := s.setTags(rq.bucket, rq.key, t.TagSet.Tags); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodDelete:
		if err := s.setTags(rq.bucket, rq.key, nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return newError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// setTags replaces an object's tag set, holding its key so that it never races a
// write of the same key. Changing tags does not change Last-Modified, as in S3.
func (s *Server) setTags(bucket, key string, tags []Tag) error {
	if err := s.checkBucket(bucket); err != nil {
		return err
	}
	unlock := s.locks.lock(objectLockName(bucket, key))
	defer unlock()
	return s.store.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return errNoSuchBucket(bucket)
		}
		v := b.Get([]byte(key))
		if v == nil {
			return errNoSuchKey(key)
		}
		var rec record
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("s3edge: record %q: %w", key, err)
		}
		rec.Tags = tags
		nv, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), nv)
	})
}

// tagCount is the x-amz-tagging-count header GET and HEAD answer with.
func tagCount(tags []Tag) string {
	if len(tags) == 0 {
		return ""
	}
	return strconv.Itoa(len(tags))
}
