package sfn

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is a Step Functions API error. Type is the AWS error code (the SDK maps it to
// its typed errors, e.g. ExecutionDoesNotExist → *types.ExecutionDoesNotExist);
// callers branch on it with errors.As.
type Error struct {
	Type    string
	Message string
	Status  int // HTTP status; 400 unless set
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func apiErr(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// ErrClosed is returned by Start and Redrive once Close has begun.
var ErrClosed = &Error{Type: "ServiceUnavailable", Message: "the Step Functions twin is shutting down", Status: http.StatusServiceUnavailable}

// IsErrorType reports whether err is an *Error of the given AWS error code.
func IsErrorType(err error, typ string) bool {
	var e *Error
	return errors.As(err, &e) && e.Type == typ
}

// ErrThrottled is StartExecution past the account's token bucket: the API's
// ThrottlingException ("Rate exceeded"), HTTP 400, which the SDKs retry as a
// throttle.
var ErrThrottled = &Error{Type: "ThrottlingException", Message: "Rate exceeded", Status: http.StatusBadRequest}
