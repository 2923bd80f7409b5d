package sfn

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
)

// The developer APIs: state machine life cycle, definition validation, callback
// tokens. TestState is in teststate.go.

func init() {
	for name, op := range map[string]apiOp{
		"CreateStateMachine":               (*Service).apiCreateStateMachine,
		"UpdateStateMachine":               (*Service).apiUpdateStateMachine,
		"DeleteStateMachine":               (*Service).apiDeleteStateMachine,
		"DescribeStateMachineForExecution": (*Service).apiDescribeStateMachineForExecution,
		"ValidateStateMachineDefinition":   (*Service).apiValidateStateMachineDefinition,
		"SendTaskSuccess":                  (*Service).apiSendTaskSuccess,
		"SendTaskFailure":                  (*Service).apiSendTaskFailure,
		"SendTaskHeartbeat":                (*Service).apiSendTaskHeartbeat,
		"TestState":                        (*Service).apiTestState,
	} {
		apiOps[name] = op
	}
}

// checkRole applies the API's roleArn rule: an IAM role ARN.
func checkRole(role string) error {
	if !strings.HasPrefix(role, "arn:aws:iam::") || !strings.Contains(role, ":role/") {
		return apiErr("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", truncate(role, 256))
	}
	return nil
}

func (s *Service) validateDefinition(definition string) error {
	if err := s.eng.validate(definition); err != nil {
		return apiErr("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	}
	return nil
}

func (s *Service) apiCreateStateMachine(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Name, Definition, RoleArn, Type string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = TypeStandard
	}
	if in.Type != TypeStandard && in.Type != TypeExpress {
		return nil, apiErr("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", in.Type)
	}
	if err := validName(in.Name); err != nil {
		return nil, apiErr("InvalidName", "Invalid Name: '%s': %v", in.Name, err)
	}
	if err := checkRole(in.RoleArn); err != nil {
		return nil, err
	}
	if err := s.validateDefinition(in.Definition); err != nil {
		return nil, err
	}
	sm := &StateMachine{ARN: StateMachineARN(in.Name), Name: in.Name, Definition: in.Definition, RoleARN: in.RoleArn, Type: in.Type, CreationDate: s.clock.Now().UTC()}
	err := s.st.update(func(t *txn) error {
		old, err := t.stateMachine(in.Name)
		switch {
		case err == nil && old.Definition == sm.Definition && old.RoleARN == sm.RoleARN && old.Type == sm.Type:
			sm = old // CreateStateMachine is idempotent for the same parameters
			return nil
		case err == nil:
			return apiErr("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", sm.ARN)
		case !errors.Is(err, errNotFound):
			return err
		}
		return t.putStateMachine(sm)
	})
	if err != nil {
		return nil, wrapStoreErr("create state machine", err)
	}
	return map[string]any{"stateMachineArn": sm.ARN, "creationDate": ts(sm.CreationDate)}, nil
}

func (s *Service) apiUpdateStateMachine(_ *http.Request, body []byte) (any, error) {
	var in struct {
		StateMachineArn     string
		Definition, RoleArn *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Definition == nil && in.RoleArn == nil {
		return nil, apiErr("MissingRequiredParameter", "Either the definition or the roleArn must be specified")
	}
	if in.Definition != nil {
		if err := s.validateDefinition(*in.Definition); err != nil {
			return nil, err
		}
	}
	if in.RoleArn != nil {
		if err := checkRole(*in.RoleArn); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now().UTC()
	err := s.st.update(func(t *txn) error {
		sm, err := s.stateMachineByARN(t, in.StateMachineArn)
		if err != nil {
			return err
		}
		if in.Definition != nil {
			sm.Definition = *in.Definition
		}
		if in.RoleArn != nil {
			sm.RoleARN = *in.RoleArn
		}
		sm.UpdateDate = now
		return t.putStateMachine(sm)
	})
	if err != nil {
		return nil, wrapStoreErr("update state machine", err)
	}
	return map[string]any{"updateDate": ts(now)}, nil
}

// apiDeleteStateMachine removes the state machine; its executions stay readable (on
// AWS, running ones are stopped over time; here they run to their end).
func (s *Service) apiDeleteStateMachine(_ *http.Request, body []byte) (any, error) {
	var in struct{ StateMachineArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if _, _, err := parseStateMachineARN(in.StateMachineArn); err != nil {
		return nil, err
	}
	err := s.st.update(func(t *txn) error {
		sm, err := s.stateMachineByARN(t, in.StateMachineArn)
		if IsErrorType(err, "StateMachineDoesNotExist") {
			return nil // deleting a deleted state machine succeeds
		} else if err != nil {
			return err
		}
		return t.deleteStateMachine(sm.Name)
	})
	if err != nil {
		return nil, wrapStoreErr("delete state machine", err)
	}
	return struct{}{}, nil
}

func (s *Service) apiDescribeStateMachineForExecution(r *http.Request, body []byte) (any, error) {
	var in struct{ ExecutionArn string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	ex, _, _, err := s.Describe(r.Context(), in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = s.st.view(func(t *txn) error {
		def, role, updated := "", "", ex.StartDate
		if sm, err := t.stateMachine(ex.StateMachine); err == nil {
			def, role, updated = sm.Definition, sm.RoleARN, sm.updated()
		}
		if d, ok := t.definition(ex.Definition); ok {
			def = d // the definition the execution runs
		}
		out = map[string]any{
			"stateMachineArn": ex.StateMachineARN, "name": ex.StateMachine, "definition": def, "roleArn": role,
			"updateDate": ts(updated), "loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
			"tracingConfiguration": map[string]any{"enabled": false},
		}
		return nil
	})
	return out, err
}

func (s *Service) apiValidateStateMachineDefinition(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Definition, Type, Severity string
		MaxResults                 int
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	type diagnostic struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Location string `json:"location,omitempty"`
	}
	out := struct {
		Result      string       `json:"result"`
		Diagnostics []diagnostic `json:"diagnostics"`
		Truncated   bool         `json:"truncated"`
	}{Result: "OK", Diagnostics: []diagnostic{}}
	if strings.TrimSpace(in.Definition) == "" {
		out.Result = "FAIL"
		out.Diagnostics = append(out.Diagnostics, diagnostic{"ERROR", "SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", ""})
		return out, nil
	}
	_, err := asl.Parse([]byte(in.Definition))
	var ve *asl.ValidationError
	if errors.As(err, &ve) {
		out.Result = "FAIL"
		for _, d := range ve.Diagnostics() {
			if in.MaxResults > 0 && len(out.Diagnostics) == in.MaxResults {
				out.Truncated = true
				break
			}
			out.Diagnostics = append(out.Diagnostics, diagnostic{"ERROR", d.Code, d.Message, d.Location})
		}
	}
	return out, nil
}

// tokenErr maps a TaskTokens refusal to the API's error of the same name.
func tokenErr(err error) error {
	var te *asl.TokenError
	if errors.As(err, &te) {
		return apiErr(te.Code, "%s", te.Message)
	}
	return err
}

func (s *Service) apiSendTaskSuccess(_ *http.Request, body []byte) (any, error) {
	var in struct{ TaskToken, Output string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Output) > maxInput {
		return nil, apiErr("ValidationException", "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to %d", maxInput)
	}
	if err := s.tokens.Success(in.TaskToken, []byte(in.Output)); err != nil {
		return nil, tokenErr(err)
	}
	return struct{}{}, nil
}

func (s *Service) apiSendTaskFailure(_ *http.Request, body []byte) (any, error) {
	var in struct{ TaskToken, Error, Cause string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Error) > 256 || len(in.Cause) > 32768 {
		return nil, apiErr("ValidationException", "error must be at most 256 and cause at most 32768 characters")
	}
	if err := s.tokens.Failure(in.TaskToken, in.Error, in.Cause); err != nil {
		return nil, tokenErr(err)
	}
	return struct{}{}, nil
}

func (s *Service) apiSendTaskHeartbeat(_ *http.Request, body []byte) (any, error) {
	var in struct{ TaskToken string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.tokens.Heartbeat(in.TaskToken); err != nil {
		return nil, tokenErr(err)
	}
	return struct{}{}, nil
}

// SendTaskSuccess completes a callback task (the Go form of the API, for the twin's
// own callers).
func (s *Service) SendTaskSuccess(token string, output []byte) error {
	return tokenErr(s.tokens.Success(token, output))
}

// updated is when a state machine last changed (UpdateStateMachine, or creation).
func (sm *StateMachine) updated() time.Time {
	if sm.UpdateDate.IsZero() {
		return sm.CreationDate
	}
	return sm.UpdateDate
}
