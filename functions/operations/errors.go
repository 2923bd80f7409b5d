package operations

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/smithy-go"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
)

// awsError is the status and body for an error from Step Functions, SQS, Lambda or S3:
// the service's error name and message, with a status that says whose fault it is.
func awsError(err error) (int, apiproxy.ErrorBody) {
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		return statusOf(code), apiproxy.ErrorBody{Error: code + ": " + api.ErrorMessage(), Code: code}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout, apiproxy.ErrorBody{Error: err.Error()}
	}
	return http.StatusBadGateway, apiproxy.ErrorBody{Error: err.Error()}
}

// statusOf maps a service error name to the API's status: what the caller named
// does not exist (404), the caller asked for something the service refuses (400),
// the service is busy (503); anything else is the services behind the API failing
// (502), including this function's own role being refused.
func statusOf(code string) int {
	switch code {
	case "ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFound", "ResourceNotFoundException":
		return http.StatusNotFound
	case "ExecutionNotRedrivable", "InvalidArn", "InvalidToken", "InvalidName",
		"ValidationException", "InvalidParameterValue", "InvalidRequestContentException":
		return http.StatusBadRequest
	case "ThrottlingException", "TooManyRequestsException", "RequestThrottled", "ServiceUnavailable",
		"ServiceUnavailableException", "SlowDown", "OverLimit", "EC2ThrottledException", "ExecutionLimitExceeded":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}
