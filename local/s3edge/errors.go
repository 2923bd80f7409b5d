package s3edge

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/johannesboyne/gofakes3"
)

// s3Error is an S3 error response: status, code and message as S3 answers them
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), with the
// extra elements some codes carry.
type s3Error struct {
	XMLName        xml.Name `xml:"Error"`
	Status         int      `xml:"-"`
	Code           string
	Message        string
	Key            string `xml:",omitempty"`
	BucketName     string `xml:",omitempty"`
	UploadID       string `xml:"UploadId,omitempty"`
	PartNumber     string `xml:",omitempty"`
	ETag           string `xml:",omitempty"`
	ArgumentName   string `xml:",omitempty"`
	ArgumentValue  string `xml:",omitempty"`
	ProposedSize   string `xml:",omitempty"`
	MinSizeAllowed string `xml:",omitempty"`
	MaxSizeAllowed string `xml:",omitempty"`
	Size           string `xml:",omitempty"`
	Condition      string `xml:",omitempty"`
	RequestID      string `xml:"RequestId"`
	HostID         string `xml:"HostId"`
}

func (e *s3Error) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, msg string) *s3Error {
	return &s3Error{Status: status, Code: code, Message: msg}
}

// The errors the edge answers itself; messages are S3's.
var (
	errMalformedXML = func() *s3Error {
		return newError(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	errInvalidURI = func() *s3Error {
		return newError(400, "InvalidURI", "Couldn't parse the specified URI.")
	}
	errRequestTimeout = func() *s3Error {
		return newError(400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.")
	}
	errIncompleteBody = func() *s3Error {
		return newError(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
	}
	errMissingContentLength = func() *s3Error {
		return newError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	errNotImplemented = func(what string) *s3Error {
		return newError(501, "NotImplemented", "A header or query you provided implies functionality that is not implemented: "+what)
	}
	errPrecondition = func() *s3Error {
		return newError(412, "PreconditionFailed", "At least one of the preconditions you specified did not hold")
	}
)

func errNoSuchUpload(id string) *s3Error {
	e := newError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	e.UploadID = id
	return e
}

func errNoSuchBucket(bucket string) *s3Error {
	e := newError(404, "NoSuchBucket", "The specified bucket does not exist")
	e.BucketName = bucket
	return e
}

func errNoSuchKey(key string) *s3Error {
	e := newError(404, "NoSuchKey", "The specified key does not exist.")
	e.Key = key
	return e
}

func errEntityTooLarge(size, max int64) *s3Error {
	e := newError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	e.ProposedSize, e.MaxSizeAllowed = strconv.FormatInt(size, 10), strconv.FormatInt(max, 10)
	return e
}

func errInvalidArgument(name, value, msg string) *s3Error {
	e := newError(400, "InvalidArgument", msg)
	e.ArgumentName, e.ArgumentValue = name, value
	return e
}

func errBadDigest(what string) *s3Error {
	return newError(400, "BadDigest", fmt.Sprintf("The %s you specified did not match the calculated checksum.", what))
}

// asS3Error turns any error into the response to send: the edge's own errors as
// they are, gofakes3's coded errors (the chunked reader's, a store lookup's) with
// their code, anything else as InternalError.
func asS3Error(err error) *s3Error {
	var se *s3Error
	if errors.As(err, &se) {
		return se
	}
	var coded interface{ ErrorCode() gofakes3.ErrorCode }
	if errors.As(err, &coded) {
		code := coded.ErrorCode()
		msg := code.Message()
		var er *gofakes3.ErrorResponse
		if errors.As(err, &er) && er.Message != "" {
			msg = er.Message
		}
		if code == gofakes3.ErrNoSuchBucket {
			return newError(404, string(code), "The specified bucket does not exist")
		}
		if code == gofakes3.ErrNoSuchKey {
			return newError(404, string(code), "The specified key does not exist.")
		}
		return newError(code.Status(), string(code), msg)
	}
	return newError(500, "InternalError", "We encountered an internal error. Please try again.")
}

// writeError answers err as S3 does: XML, no body for HEAD.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	se := *asS3Error(err)
	se.RequestID, se.HostID = requestID, hostID(requestID)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(se.Status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(se)
}

// writeXML answers v as an S3 XML document.
func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}
