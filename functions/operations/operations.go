// Package operations is the operators' API (functions/cmd/operations): the executions
// of the pipeline and remove state machines and the failure queue, as API Gateway
// routes that only the operators group's role may invoke (the stack grants
// execute-api:Invoke on them to nobody else). It exists because the browser cannot
// call Step Functions itself: Step Functions does not answer CORS (the "Allows
// CORS" column of aws-sdk-js's SERVICES.md; aws/aws-sdk-js-v3#1588).
//
//	GET  /executions?status=&key=&maxResults=&nextToken=&machine=pipeline|remove
//	GET  /executions/{arn}            (the ARN URL-encoded)
//	POST /executions/{arn}/redrive    RedriveExecution
//	POST /executions/{arn}/stop       StopExecution
//	GET  /failures                    the failure queue, peeked
//	POST /failures/redrive            {"messageIds"?, "includePermanent"?}: starts the
//	                                  redrive job (202 {"executionArn"}), followed with
//	                                  GET /executions/{arn}; without a job, one round
//	POST /failures/discard            {"messageIds"}
//	POST /images/delete               {"key": "upload/..."}: deletes the upload
//	                                  (202 {"key", "deleted"}); the remove pipeline
//	                                  then removes its document and derived objects
//
// Every answer is JSON with the stage's CORS header; errors are {"error", "code"?}.
package operations

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
)

// methods is what the operations resources allow.
const methods = "GET,POST,OPTIONS"

// Handler serves the routes; its clients are made once per Lambda container.
type Handler struct {
	SFN    StepFunctions
	Queue  QueueAPI
	Lambda LambdaAPI
	S3     ObjectDeleter
	// Bucket is the images bucket, whose uploads POST /images/delete deletes.
	Bucket string
	// QueueURL is the failure queue; RedriveFunction the redrive Lambda's name or ARN.
	QueueURL, RedriveFunction string
	// PipelineArn and RemoveArn are the state machines whose executions it shows;
	// RedriveJobArn the redrive job (statemachine/redrive.asl.json), which POST
	// /failures/redrive starts and whose executions it shows too.
	PipelineArn, RemoveArn, RedriveJobArn string
	AllowOrigin                           string // "" means "*"
	Logger                                *slog.Logger
}

func (h Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Handle is the Lambda handler. It never returns a Go error: API Gateway would
// answer a bare 502 without CORS headers.
func (h Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if req.HTTPMethod == http.MethodOptions {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusNoContent, Headers: apiproxy.Headers(h.AllowOrigin, methods)}, nil
	}
	// IAM is what keeps everyone but operators out; a guest reaching this far means
	// a policy went wrong, and guests must never see the pipeline's inputs.
	if req.RequestContext.Identity.CognitoAuthenticationType == "unauthenticated" {
		return h.error(http.StatusForbidden, "the operations API is for the operators group"), nil
	}
	switch route := req.HTTPMethod + " " + req.Resource; route {
	case "GET /executions":
		return h.listExecutions(ctx, req.QueryStringParameters, req.MultiValueQueryStringParameters), nil
	case "GET /executions/{arn}", "POST /executions/{arn}/redrive", "POST /executions/{arn}/stop":
		arn, err := h.executionArn(req.PathParameters["arn"])
		if err != nil {
			return h.fail(ctx, route, err), nil
		}
		switch route {
		case "GET /executions/{arn}":
			return h.getExecution(ctx, arn), nil
		case "POST /executions/{arn}/redrive":
			return h.redriveExecution(ctx, arn), nil
		}
		return h.stopExecution(ctx, arn, caller(req)), nil
	case "GET /failures":
		return h.listFailures(ctx), nil
	case "POST /failures/redrive", "POST /failures/discard":
		body, err := requestBody(req)
		if err != nil {
			return h.fail(ctx, route, err), nil
		}
		return h.failureAction(ctx, strings.TrimPrefix(req.Resource, "/failures/"), body), nil
	case "POST /images/delete":
		body, err := requestBody(req)
		if err != nil {
			return h.fail(ctx, route, err), nil
		}
		return h.deleteImage(ctx, body), nil
	}
	return h.error(http.StatusNotFound, "no operations route "+req.HTTPMethod+" "+req.Resource), nil
}

// caller names who made the request, for a stop's cause: the Cognito identity, or
// the IAM principal.
func caller(req events.APIGatewayProxyRequest) string {
	id := req.RequestContext.Identity
	for _, s := range []string{id.CognitoIdentityID, id.UserArn, id.User} {
		if s != "" {
			return s
		}
	}
	return "an operator"
}

// executionArn reads the {arn} path parameter and checks that it names an
// execution of one of the two state machines. API Gateway may pass a path
// parameter still percent-encoded (REST APIs do not decode the path); an ARN never
// holds "%" (Step Functions refuses it in names), so decoding is safe either way.
func (h Handler) executionArn(param string) (string, error) {
	arn := param
	if strings.Contains(arn, "%") {
		var err error
		if arn, err = url.PathUnescape(param); err != nil {
			return "", &InputError{"arn: not a valid URL-encoded ARN"}
		}
	}
	for _, sm := range []string{h.PipelineArn, h.RemoveArn, h.RedriveJobArn} {
		if sm == "" {
			continue
		}
		prefix := strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":"
		if name, ok := strings.CutPrefix(arn, prefix); ok && name != "" && !strings.Contains(name, ":") {
			return arn, nil
		}
	}
	return "", &InputError{"arn: " + arn + " is not an execution of this stack's state machines"}
}

// requestBody is the POST body, "" when there is none.
func requestBody(req events.APIGatewayProxyRequest) (string, error) {
	if !req.IsBase64Encoded {
		return req.Body, nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return "", &InputError{"body: invalid base64"}
	}
	return string(b), nil
}

// InputError is a request the API refuses (400).
type InputError struct{ Reason string }

func (e *InputError) Error() string { return e.Reason }

func (h Handler) json(status int, body any) events.APIGatewayProxyResponse {
	return apiproxy.JSON(h.AllowOrigin, methods, status, body)
}

func (h Handler) error(status int, msg string) events.APIGatewayProxyResponse {
	return apiproxy.Error(h.AllowOrigin, methods, status, msg)
}

// fail answers err: 400 for an *InputError, else what the AWS error says
// (awsError), logged.
func (h Handler) fail(ctx context.Context, op string, err error) events.APIGatewayProxyResponse {
	var in *InputError
	if errors.As(err, &in) {
		return h.error(http.StatusBadRequest, in.Reason)
	}
	status, body := awsError(err)
	h.log().WarnContext(ctx, op+" failed", "status", status, "code", body.Code, "error", err.Error())
	return h.json(status, body)
}
