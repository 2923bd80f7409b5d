package rekognition

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError is an error answer: the HTTP status and the exception name AWS uses.
// Rekognition's own exceptions carry Code, Logref and Message (its error-handling
// page shows one); the errors of AWS's request layer before it (validation,
// serialization, an unknown operation) carry only a message.
type apiError struct {
	status  int
	code    string
	message string
	service bool // Rekognition's own exception, not the request layer's
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// Rekognition's messages, as its answers spell them where they are known.
const (
	msgInvalidFormat = "Request has invalid image format"
	msgInvalidParams = "Request has invalid parameters"
	msgS3Object      = "Unable to get object metadata from S3. Check object key, region and/or access permissions."
	msgTooLarge      = "Image size is too large"
)

func invalidImageFormat(detail string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidImageFormatException", withDetail(msgInvalidFormat, detail), true}
}

func invalidParameter(detail string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", withDetail(msgInvalidParams, detail), true}
}

func invalidS3Object() *apiError {
	return &apiError{http.StatusBadRequest, "InvalidS3ObjectException", msgS3Object, true}
}

func imageTooLarge(message string) *apiError {
	return &apiError{http.StatusBadRequest, "ImageTooLargeException", message, true}
}

// throughputExceeded is a call over the account's TPS quota. Rekognition answers it
// with HTTP 400 and the service's error shape; the SDKs retry it as a throttle.
func throughputExceeded() *apiError {
	return &apiError{http.StatusBadRequest, "ProvisionedThroughputExceededException", "Provisioned rate exceeded", true}
}

func internalError(err error) *apiError {
	return &apiError{http.StatusInternalServerError, "InternalServerError", "Internal server error: " + err.Error(), true}
}

// validation is AWS's request validation, which words each violated constraint
// and counts them.
func validation(violations []string) *apiError {
	n := len(violations)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	msg := fmt.Sprintf("%d validation error%s detected: %s", n, plural, strings.Join(violations, "; "))
	return &apiError{http.StatusBadRequest, "ValidationException", msg, false}
}

func serialization(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "SerializationException", fmt.Sprintf(format, args...), false}
}

func unknownOperation(method, target, contentType string) *apiError {
	msg := fmt.Sprintf("The twin's Rekognition serves DetectLabels only (POST, X-Amz-Target %s, Content-Type application/x-amz-json-1.1); got %s, X-Amz-Target %q, Content-Type %q",
		targetPrefix+"DetectLabels", method, target, contentType)
	return &apiError{http.StatusBadRequest, "UnknownOperationException", msg, false}
}

// withDetail appends what the twin knows to Rekognition's terse message: the name
// stays AWS's, the reason becomes readable.
func withDetail(msg, detail string) string {
	if detail == "" {
		return msg
	}
	return msg + ": " + detail
}

// fail writes e in the JSON 1.1 error shape, with the name also in
// X-Amzn-ErrorType, where the SDKs look first.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, op string, e *apiError) {
	s.log.Info("rekognition", "op", op, "error", e.code, "message", e.message,
		"requestId", w.Header().Get("x-amzn-RequestId"), "remote", r.RemoteAddr)
	w.Header().Set("X-Amzn-ErrorType", e.code)
	body := map[string]string{"__type": e.code}
	if e.service {
		body["Code"], body["Logref"], body["Message"] = e.code, newID(), e.message
	} else {
		body["message"] = e.message
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only plain data is written
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
