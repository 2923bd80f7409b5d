// Package apiproxy writes the answers of the API Gateway (REST, proxy integration)
// Lambdas: JSON with the CORS header the stage's preflight allows, never cached.
// Errors are {"error": "..."}, and a handler answers every request itself: a Go
// error would reach the browser as API Gateway's bare 502.
package apiproxy

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// Headers are an answer's headers for a caller from origin ("" means "*"); methods
// is what the resource allows (the preflight itself is API Gateway's MOCK answer).
func Headers(origin, methods string) map[string]string {
	if origin == "" {
		origin = "*"
	}
	return map[string]string{
		"Content-Type":                 "application/json",
		"Access-Control-Allow-Origin":  origin,
		"Access-Control-Allow-Methods": methods,
		"Access-Control-Allow-Headers": "Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token,X-Amz-Content-Sha256,X-Api-Key",
		"Cache-Control":                "no-store",
		"Vary":                         "Origin",
	}
}

// JSON answers status with body encoded as JSON.
func JSON(origin, methods string, status int, body any) events.APIGatewayProxyResponse {
	raw, err := json.Marshal(body)
	if err != nil { // our own types: cannot happen, but never answer with nothing
		status, raw = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: Headers(origin, methods), Body: string(raw)}
}

// ErrorBody is the error shape every API Lambda answers.
type ErrorBody struct {
	Error string `json:"error"`
	// Code is the service error's name, when the error came from an AWS service
	// (ExecutionNotRedrivable, ExecutionDoesNotExist, ...).
	Code string `json:"code,omitempty"`
}

// Error answers status with {"error": msg}.
func Error(origin, methods string, status int, msg string) events.APIGatewayProxyResponse {
	return JSON(origin, methods, status, ErrorBody{Error: msg})
}
