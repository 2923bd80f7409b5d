package lambdart

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
)

// Lambda's payload limits.
const (
	// MaxSyncPayload is the RequestResponse request limit ("Request must be smaller
	// than 6291456 bytes for the InvokeFunction operation").
	MaxSyncPayload = 6 * 1024 * 1024
	// MaxAsyncPayload is the Event request limit: 1 MB since Lambda raised it from
	// 256 KB in 2025 (the Invoke API reference: "For asynchronous invocations, the
	// maximum payload size is 1 MB").
	MaxAsyncPayload = 1024 * 1024
	// MaxResponsePayload is what a runtime may post as a response: 6 MiB plus 100
	// bytes, the figure in Lambda's Function.ResponseSizeTooLarge message.
	MaxResponsePayload = 6*1024*1024 + 100
)

// Function error types Lambda itself reports (the runtime reports the others).
const (
	ErrTypeTimeout      = "Sandbox.Timedout"
	ErrTypeExit         = "Runtime.ExitError"
	ErrTypeOutOfMemory  = "Runtime.OutOfMemory"
	ErrTypeResponseSize = "Function.ResponseSizeTooLarge"
	ErrTypeEntrypoint   = "Runtime.InvalidEntrypoint"
	ErrTypeUnknown      = "Runtime.Unknown"
)

// serviceError is a Lambda API error, as opposed to a function error: the request
// never reached the function (not found, throttled, payload too large...).
type serviceError struct {
	Status  int
	Code    string // ResourceNotFoundException, TooManyRequestsException, ...
	Message string
	Reason  string // TooManyRequestsException's Reason
	Type    string // "User" or "Service"
}

func (e *serviceError) Error() string { return e.Code + ": " + e.Message }

// taskError is the error Step Functions reports for a failed Lambda API call: the
// exception name prefixed with "Lambda." and the Java SDK's message as the cause.
func (e *serviceError) taskError() *asl.TaskError {
	return &asl.TaskError{
		Name: "Lambda." + e.Code,
		Cause: fmt.Sprintf("%s (Service: AWSLambda; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)",
			e.Message, e.Status, e.Code, newRequestID()),
	}
}

func notFound(arn string) *serviceError {
	return &serviceError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: "Function not found: " + arn, Type: "User"}
}

// throttled is an invoke past the function's reserved concurrency, or past the
// account's unreserved concurrency (the Reasons of TooManyRequestsException in the
// Lambda API reference).
func throttled(reservedLimit bool) *serviceError {
	reason := "ConcurrentInvocationLimitExceeded"
	if reservedLimit {
		reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
	}
	return &serviceError{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate Exceeded.",
		Reason: reason, Type: "User"}
}

func invalidParameter(format string, args ...any) *serviceError {
	return &serviceError{Status: http.StatusBadRequest, Code: "InvalidParameterValueException", Message: fmt.Sprintf(format, args...), Type: "User"}
}

func tooLargeSync() *serviceError {
	return &serviceError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLargeException",
		Message: fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxSyncPayload), Type: "User"}
}

func tooLargeAsync(n int) *serviceError {
	return &serviceError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLargeException",
		Message: fmt.Sprintf("%d byte payload is too large for the Event invocation type (limit %d bytes)", n, MaxAsyncPayload), Type: "User"}
}

func invalidContent(err error) *serviceError {
	return &serviceError{Status: http.StatusBadRequest, Code: "InvalidRequestContentException",
		Message: "Could not parse request body into json: Could not parse payload into json: " + err.Error(), Type: "User"}
}

func shuttingDown() *serviceError {
	return &serviceError{Status: http.StatusInternalServerError, Code: "ServiceException", Message: "The local Lambda service is shutting down.", Type: "Service"}
}

// functionError is a failed invocation as the caller sees it: Type and Message are
// errorType and errorMessage; Body is the Invoke response payload (what the runtime
// posted, verbatim, or Lambda's own {"errorType","errorMessage"}).
type functionError struct {
	Type    string
	Message string
	Body    []byte
}

// platformError is an error Lambda reports on the function's behalf (timeout, exit,
// out of memory), shaped as Lambda shapes it.
func platformError(typ, message string) *functionError {
	body, _ := json.Marshal(struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}{typ, message})
	return &functionError{Type: typ, Message: message, Body: body}
}

// postedError reads an error a runtime posted to /error or /init/error: the body is
// returned verbatim and its errorType (or the Lambda-Runtime-Function-Error-Type
// header) names the error.
func postedError(body []byte, headerType string) *functionError {
	var v struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	_ = json.Unmarshal(body, &v) // a body that is not JSON is still passed on as is
	typ := v.Type
	if typ == "" {
		typ = headerType
	}
	if typ == "" {
		typ = ErrTypeUnknown
	}
	if len(body) == 0 {
		return platformError(typ, v.Message)
	}
	return &functionError{Type: typ, Message: v.Message, Body: body}
}

func timeoutError(requestID string, d time.Duration) *functionError {
	return platformError(ErrTypeTimeout, fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", requestID, d.Seconds()))
}

func responseTooLarge() *functionError {
	return platformError(ErrTypeResponseSize,
		fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload))
}
