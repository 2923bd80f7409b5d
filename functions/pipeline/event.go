// Package pipeline holds the contracts the Lambdas, the state machine and the local
// twin share: the S3 EventBridge event, each step's result, the search document, the
// key and id rules, and the error names the state machine retries or catches.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
)

// Event sources, detail types and prefixes; the rule pattern in statemachine/ uses them too.
const (
	SourceS3          = "aws.s3"
	DetailTypeCreated = "Object Created"
	DetailTypeDeleted = "Object Deleted"
	UploadPrefix      = "upload/"
	ThumbnailPrefix   = "thumbnail/"
	PreviewPrefix     = "preview/"
)

// ObjectEvent is the EventBridge event S3 sends for "Object Created" and
// "Object Deleted", field for field.
type ObjectEvent struct {
	Version    string       `json:"version"`
	ID         string       `json:"id"`
	DetailType string       `json:"detail-type"`
	Source     string       `json:"source"`
	Account    string       `json:"account"`
	Time       time.Time    `json:"time"`
	Region     string       `json:"region"`
	Resources  []string     `json:"resources"`
	Detail     ObjectDetail `json:"detail"`
}

// ObjectDetail is the "detail" member of an S3 EventBridge event.
type ObjectDetail struct {
	Version         string    `json:"version"`
	Bucket          BucketRef `json:"bucket"`
	Object          ObjectRef `json:"object"`
	RequestID       string    `json:"request-id"`
	Requester       string    `json:"requester"`
	SourceIPAddress string    `json:"source-ip-address,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	DeletionType    string    `json:"deletion-type,omitempty"`
}

// BucketRef names the bucket of an event.
type BucketRef struct {
	Name string `json:"name"`
}

// ObjectRef describes the object of an event. Size and ETag are absent on deletes.
type ObjectRef struct {
	Key       string `json:"key"`
	Size      int64  `json:"size,omitempty"`
	ETag      string `json:"etag,omitempty"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
}

// Key is the object's key. S3 URL-encodes detail.object.key in its events, as a
// form value ("red flower.jpg" arrives as "red+flower.jpg", "a+b" as "a%2Bb"), so
// every reader of the event decodes it here.
func (e ObjectEvent) Key() (string, error) {
	k, err := url.QueryUnescape(e.Detail.Object.Key)
	if err != nil {
		return "", &InvalidEventError{Reason: "detail.object.key " + quote(e.Detail.Object.Key) + " is not URL-encoded: " + err.Error()}
	}
	return k, nil
}

// Validate reports an event that cannot name an object under upload/.
func (e ObjectEvent) Validate() error {
	if e.Detail.Bucket.Name == "" {
		return &InvalidEventError{Reason: "detail.bucket.name is empty"}
	}
	if e.Detail.Object.Key == "" {
		return &InvalidEventError{Reason: "detail.object.key is empty"}
	}
	key, err := e.Key()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(key, UploadPrefix) {
		return &InvalidEventError{Reason: "key " + quote(key) + " is not under " + UploadPrefix}
	}
	return nil
}

// DocumentID is the search document id: hex SHA-256 of "bucket/key". It is derived,
// never generated, so that duplicate events converge on one document.
func DocumentID(bucket, key string) string {
	sum := sha256.Sum256([]byte(bucket + "/" + key))
	return hex.EncodeToString(sum[:])
}

// MaxKeyBytes is S3's longest object key.
const MaxKeyBytes = 1024

// ThumbnailKey maps upload/a/b.jpg to thumbnail/a/b.jpg.
func ThumbnailKey(key string) string { return derivedKey(ThumbnailPrefix, key) }

// PreviewKey maps upload/a/b.jpg to preview/a/b.jpg.
func PreviewKey(key string) string { return derivedKey(PreviewPrefix, key) }

// derivedKey keeps the relative key under prefix. A key too long to carry a longer
// prefix (S3 keys end at 1024 bytes) is named by its hash under prefix + "_long/",
// still derived and so still idempotent; so is a key that would itself land under
// "_long/", so that no short key's derived name can be a long key's.
func derivedKey(prefix, key string) string {
	rel := strings.TrimPrefix(key, UploadPrefix)
	if k := prefix + rel; len(k) <= MaxKeyBytes && !strings.HasPrefix(rel, hashedDir) {
		return k
	}
	sum := sha256.Sum256([]byte(key))
	return prefix + hashedDir + hex.EncodeToString(sum[:]) + ".jpg"
}

// hashedDir holds the derived keys named by their source key's hash.
const hashedDir = "_long/"

// CompareSequencers orders two S3 sequencer values for the same key, as S3 documents:
// left-pad the shorter hexadecimal string with zeros, then compare lexicographically.
// An empty sequencer is the oldest. It returns -1, 0 or +1.
func CompareSequencers(a, b string) int {
	a, b = strings.ToUpper(a), strings.ToUpper(b)
	for len(a) < len(b) {
		a = "0" + a
	}
	for len(b) < len(a) {
		b = "0" + b
	}
	return strings.Compare(a, b)
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}

// RejectedTagKey and RejectedTagValue mark an upload the pipeline refused for good
// (package rejected sets it): the bucket's lifecycle rule (infra) expires objects
// under UploadPrefix that carry it.
const (
	RejectedTagKey   = "imagepipe:status"
	RejectedTagValue = "rejected"
)

// MaxUploadBytes is the largest upload the pipeline takes (imaging.DefaultLimits,
// MAX_OBJECT_BYTES): presign-upload signs POST policies with it, so that S3 itself
// refuses a larger file.
const MaxUploadBytes = 50 << 20
