package pipeline

import (
	"fmt"
	"reflect"
)

// The Lambda runtime reports a returned error's Go type name as the error name the
// state machine sees (for *T, the name of T). These types are therefore the contract
// with statemachine/pipeline.asl.json: the retryable ones appear in its Retry lists,
// the others fall through to Catch. Return them unwrapped at the handler boundary.

// Error names, as the state machine sees them.
const (
	ErrNameTransient        = "TransientError"
	ErrNameThrottled        = "ThrottledError"
	ErrNameNotAnImage       = "NotAnImageError"
	ErrNameUnsupported      = "UnsupportedFormatError"
	ErrNameCorrupt          = "CorruptImageError"
	ErrNameTooLarge         = "ImageTooLargeError"
	ErrNameInvalidEvent     = "InvalidEventError"
	ErrNameObjectNotFound   = "ObjectNotFoundError"
	ErrNameInvalidParameter = "InvalidParameterError"
	ErrNameStorage          = "StorageError"
)

// RetryableErrorNames are the functions' own errors worth retrying.
var RetryableErrorNames = []string{ErrNameTransient, ErrNameThrottled}

// TransientError is a failure that may pass on a retry (network, 5xx, timeouts).
type TransientError struct {
	Op  string
	Err error
}

func (e *TransientError) Error() string { return fmt.Sprintf("%s: transient: %v", e.Op, e.Err) }
func (e *TransientError) Unwrap() error { return e.Err }

// ThrottledError is a downstream service saying "slow down" (Rekognition, S3 503 SlowDown).
type ThrottledError struct {
	Service string
	Err     error
}

func (e *ThrottledError) Error() string { return fmt.Sprintf("%s throttled: %v", e.Service, e.Err) }
func (e *ThrottledError) Unwrap() error { return e.Err }

// NotAnImageError is an object whose bytes are no image format we know (including a
// zero-byte object).
type NotAnImageError struct {
	Reason string
}

func (e *NotAnImageError) Error() string { return "not an image: " + e.Reason }

// UnsupportedFormatError is a recognised image format that the pipeline cannot decode
// (HEIC/HEIF).
type UnsupportedFormatError struct {
	Format string
}

func (e *UnsupportedFormatError) Error() string {
	return "unsupported image format: " + e.Format
}

// CorruptImageError is an image whose bytes do not decode (truncated, bad markers).
type CorruptImageError struct {
	Format string
	Err    error
}

func (e *CorruptImageError) Error() string {
	return fmt.Sprintf("corrupt %s image: %v", e.Format, e.Err)
}
func (e *CorruptImageError) Unwrap() error { return e.Err }

// ImageTooLargeError is an object or image over a Limits value: a decompression bomb
// or a file over the size limit. Checked before any pixel is decoded.
type ImageTooLargeError struct {
	What  string // "bytes", "pixels" or "side"
	Value int64
	Limit int64
}

func (e *ImageTooLargeError) Error() string {
	return fmt.Sprintf("image too large: %d %s exceeds the limit of %d", e.Value, e.What, e.Limit)
}

// InvalidEventError is an event that does not name an object the pipeline processes.
type InvalidEventError struct {
	Reason string
}

func (e *InvalidEventError) Error() string { return "invalid event: " + e.Reason }

// ObjectNotFoundError is an object that no longer exists (deleted before processing).
type ObjectNotFoundError struct {
	Bucket, Key string
}

func (e *ObjectNotFoundError) Error() string {
	return fmt.Sprintf("object s3://%s/%s not found", e.Bucket, e.Key)
}

// InvalidParameterError is a bad API parameter (search), answered with 400.
type InvalidParameterError struct {
	Name, Reason string
}

func (e *InvalidParameterError) Error() string {
	return fmt.Sprintf("invalid parameter %q: %s", e.Name, e.Reason)
}

// StorageError is an S3 failure that a retry will not mend (access denied, a bad
// request): named, so that the state machine and the failure queue say what happened.
type StorageError struct {
	Op  string
	Err error
}

func (e *StorageError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *StorageError) Unwrap() error { return e.Err }

// ErrorName is the error name the Lambda runtime reports for err, and so the name the
// state machine retries or catches: the Go type name of the returned error, without
// the pointer (aws-lambda-go's rule). It is "" for nil.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
