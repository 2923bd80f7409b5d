package sfn

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/imagepipe/imagepipe/local/asl"
)

// apiTestState runs one state with the twin's Lambda functions and queue, or with the
// request's mock, and answers as the TestState API documents: output or error and
// cause, nextState, status, and inspectionData at DEBUG and TRACE. (TRACE adds the
// HTTP request and response of HTTP Task states, which the twin does not run.)
func (s *Service) apiTestState(r *http.Request, body []byte) (any, error) {
	var in struct {
		Definition      string
		RoleArn         string
		Input           *string
		InspectionLevel string
		StateName       string
		Mock            *struct {
			Result      *string
			ErrorOutput *struct{ Error, Cause string }
		}
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch in.InspectionLevel {
	case "":
		in.InspectionLevel = "INFO"
	case "INFO", "DEBUG", "TRACE":
	default:
		return nil, apiErr("ValidationException", "1 validation error detected: Value '%s' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]", in.InspectionLevel)
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	opts := asl.Options{Region: Region, Clock: s.opts.Clock}
	if s.opts.Invoker != nil {
		opts.Invoker = s.opts.Invoker
	}
	if s.opts.Queue != nil {
		opts.Queue = s.opts.Queue
	}
	if m := in.Mock; m != nil {
		opts.Mock = func(string) (json.RawMessage, *asl.TaskError, bool) {
			if m.ErrorOutput != nil {
				return nil, &asl.TaskError{Name: m.ErrorOutput.Error, Cause: m.ErrorOutput.Cause}, true
			}
			if m.Result != nil {
				return json.RawMessage(*m.Result), nil, true
			}
			return nil, nil, false
		}
	}
	res, err := asl.TestState(r.Context(), []byte(in.Definition), []byte(input), in.StateName, opts)
	var ve *asl.ValidationError
	if errors.As(err, &ve) {
		return nil, apiErr("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	} else if err != nil {
		return nil, err
	}
	out := map[string]any{"status": res.Status}
	if res.Output != nil {
		out["output"] = string(res.Output)
	}
	if res.Error != "" || res.Status == "FAILED" {
		out["error"], out["cause"] = res.Error, res.Cause
	}
	if res.NextState != "" {
		out["nextState"] = res.NextState
	}
	if in.InspectionLevel != "INFO" {
		out["inspectionData"] = inspectionJSON(res.Inspection)
	}
	return out, nil
}

// inspectionJSON is inspectionData: each step's data as a JSON string.
func inspectionJSON(i asl.Inspection) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]json.RawMessage{
		"input": i.Input, "afterInputPath": i.AfterInputPath, "afterParameters": i.AfterParameters,
		"result": i.Result, "afterResultSelector": i.AfterResultSelector, "afterResultPath": i.AfterResultPath,
	} {
		if v != nil {
			out[k] = string(v)
		}
	}
	return out
}
