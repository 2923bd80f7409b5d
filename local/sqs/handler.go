package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxRequest bounds a request body: a 1 MiB message, JSON-escaped, plus framing.
const maxRequest = 8 << 20

// apiError is an SQS error in the JSON protocol's shape.
type apiError struct {
	status    int
	typ       string // the __type shape name
	queryCode string // x-amzn-query-error code, as the query protocol named it
	msg       string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrQueueDoesNotExist):
		return &apiError{400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist."}
	case errors.Is(err, ErrReceiptHandle):
		return &apiError{400, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", err.Error()}
	case errors.Is(err, ErrNotInflight):
		return &apiError{400, "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", err.Error()}
	case errors.Is(err, ErrQueueNameExists):
		return &apiError{400, "QueueNameExists", "QueueAlreadyExists", err.Error()}
	case errors.Is(err, ErrInvalidParameter):
		return &apiError{400, "InvalidParameterValueException", "InvalidParameterValue", err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{400, "RequestCanceled", "RequestCanceled", err.Error()}
	}
	return &apiError{500, "InternalError", "InternalError", "We encountered an internal error. Please try again."}
}

func writeErr(w http.ResponseWriter, err error) {
	ae := toAPIError(err)
	fault := "Sender"
	if ae.status >= 500 {
		fault = "Receiver"
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("x-amzn-query-error", ae.queryCode+";"+fault)
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + ae.typ, "message": ae.msg})
}

func missing(name string) error {
	return &apiError{400, "MissingParameter", "MissingParameter", "The request must contain the parameter " + name + "."}
}

// Handler serves the SQS JSON protocol (POST, X-Amz-Target: AmazonSQS.<Op>).
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		writeErr(w, &apiError{400, "InvalidAction", "InvalidAction", "expected POST with X-Amz-Target: AmazonSQS.<Operation>"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil {
		writeErr(w, err)
		return
	}
	if len(body) > maxRequest {
		writeErr(w, &apiError{413, "RequestTooLarge", "RequestTooLarge", "request body too large"})
		return
	}
	out, err := s.dispatch(r.Context(), op, body)
	if err != nil {
		if ae := toAPIError(err); ae.status >= 500 {
			s.log.Error("sqs request failed", "op", op, "err", err)
		}
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

// flexInt accepts a JSON number or a numeric string (the query-compatible clients
// send strings).
type flexInt struct {
	set bool
	v   int
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%w: %s is not an integer", ErrInvalidParameter, b)
	}
	f.set, f.v = true, n
	return nil
}

func (f flexInt) or(def int) int {
	if f.set {
		return f.v
	}
	return def
}

type request struct {
	QueueName                   string            `json:"QueueName"`
	QueueNamePrefix             string            `json:"QueueNamePrefix"`
	QueueURL                    string            `json:"QueueUrl"`
	Attributes                  map[string]string `json:"Attributes"`
	MessageBody                 *string           `json:"MessageBody"`
	DelaySeconds                flexInt           `json:"DelaySeconds"`
	MaxNumberOfMessages         flexInt           `json:"MaxNumberOfMessages"`
	VisibilityTimeout           flexInt           `json:"VisibilityTimeout"`
	WaitTimeSeconds             flexInt           `json:"WaitTimeSeconds"`
	AttributeNames              []string          `json:"AttributeNames"`
	MessageSystemAttributeNames []string          `json:"MessageSystemAttributeNames"`
	ReceiptHandle               string            `json:"ReceiptHandle"`
	Entries                     []struct {
		ID            string `json:"Id"`
		ReceiptHandle string `json:"ReceiptHandle"`
	} `json:"Entries"`
}

func (s *Service) dispatch(ctx context.Context, op string, body []byte) (any, error) {
	var in request
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			if errors.Is(err, ErrInvalidParameter) {
				return nil, err
			}
			return nil, &apiError{400, "SerializationException", "SerializationException", "malformed JSON: " + err.Error()}
		}
	}
	o, ok := operations[op]
	if !ok {
		return nil, &apiError{400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "operation " + op + " is not supported by the local twin"}
	}
	if o.needsURL && in.QueueURL == "" {
		return nil, missing("QueueUrl")
	}
	return o.run(s, ctx, in)
}

// operation is one SQS action: whether it names a queue by URL, and what it does.
type operation struct {
	needsURL bool
	run      func(s *Service, ctx context.Context, in request) (any, error)
}

// operations are the SQS actions the twin serves, by X-Amz-Target name.
var operations = map[string]operation{
	"CreateQueue": {run: func(s *Service, ctx context.Context, in request) (any, error) {
		if in.QueueName == "" {
			return nil, missing("QueueName")
		}
		u, err := s.CreateQueue(ctx, in.QueueName, in.Attributes)
		return map[string]string{"QueueUrl": u}, err
	}},
	"GetQueueUrl": {run: func(s *Service, ctx context.Context, in request) (any, error) {
		if in.QueueName == "" {
			return nil, missing("QueueName")
		}
		u, err := s.GetQueueURL(ctx, in.QueueName)
		return map[string]string{"QueueUrl": u}, err
	}},
	"ListQueues": {run: func(s *Service, ctx context.Context, in request) (any, error) {
		urls, err := s.ListQueues(ctx, in.QueueNamePrefix)
		if len(urls) == 0 {
			return struct{}{}, err
		}
		return map[string][]string{"QueueUrls": urls}, err
	}},
	"DeleteQueue": {needsURL: true, run: func(s *Service, ctx context.Context, in request) (any, error) {
		return struct{}{}, s.DeleteQueue(ctx, in.QueueURL)
	}},
	"SendMessage":             {needsURL: true, run: (*Service).apiSendMessage},
	"ReceiveMessage":          {needsURL: true, run: (*Service).apiReceiveMessage},
	"DeleteMessage":           {needsURL: true, run: (*Service).apiDeleteMessage},
	"DeleteMessageBatch":      {needsURL: true, run: (*Service).deleteBatch},
	"ChangeMessageVisibility": {needsURL: true, run: (*Service).apiChangeVisibility},
	"GetQueueAttributes": {needsURL: true, run: func(s *Service, ctx context.Context, in request) (any, error) {
		all, err := s.Attributes(ctx, in.QueueURL)
		if err != nil {
			return nil, err
		}
		return map[string]map[string]string{"Attributes": pick(all, in.AttributeNames)}, nil
	}},
	"SetQueueAttributes": {needsURL: true, run: func(s *Service, ctx context.Context, in request) (any, error) {
		return struct{}{}, s.SetAttributes(ctx, in.QueueURL, in.Attributes)
	}},
	"PurgeQueue": {needsURL: true, run: func(s *Service, ctx context.Context, in request) (any, error) {
		return struct{}{}, s.Purge(ctx, in.QueueURL)
	}},
}

func (s *Service) apiSendMessage(ctx context.Context, in request) (any, error) {
	if in.MessageBody == nil {
		return nil, missing("MessageBody")
	}
	if in.DelaySeconds.set && (in.DelaySeconds.v < 0 || in.DelaySeconds.v > 900) {
		return nil, fmt.Errorf("%w: DelaySeconds must be from 0 to 900", ErrInvalidParameter)
	}
	id, sum, err := s.send(ctx, in.QueueURL, *in.MessageBody, in.DelaySeconds.or(-1))
	if err != nil {
		return nil, err
	}
	return map[string]string{"MessageId": id, "MD5OfMessageBody": sum}, nil
}

func (s *Service) apiReceiveMessage(ctx context.Context, in request) (any, error) {
	if in.VisibilityTimeout.set && in.VisibilityTimeout.v < 0 || in.WaitTimeSeconds.set && in.WaitTimeSeconds.v < 0 {
		return nil, fmt.Errorf("%w: VisibilityTimeout and WaitTimeSeconds must not be negative", ErrInvalidParameter)
	}
	got, err := s.Receive(ctx, ReceiveInput{
		QueueURL:          in.QueueURL,
		Max:               in.MaxNumberOfMessages.or(1),
		VisibilityTimeout: in.VisibilityTimeout.or(-1),
		WaitTimeSeconds:   in.WaitTimeSeconds.or(-1),
	})
	if err != nil {
		return nil, err
	}
	return receiveOutput(got, append(in.AttributeNames, in.MessageSystemAttributeNames...)), nil
}

func (s *Service) apiDeleteMessage(ctx context.Context, in request) (any, error) {
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	return struct{}{}, s.DeleteMessage(ctx, in.QueueURL, in.ReceiptHandle)
}

func (s *Service) apiChangeVisibility(ctx context.Context, in request) (any, error) {
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	if !in.VisibilityTimeout.set {
		return nil, missing("VisibilityTimeout")
	}
	return struct{}{}, s.ChangeVisibility(ctx, in.QueueURL, in.ReceiptHandle, in.VisibilityTimeout.v)
}

func pick(all map[string]string, names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out
}

type outMessage struct {
	MessageID     string            `json:"MessageId"`
	ReceiptHandle string            `json:"ReceiptHandle"`
	MD5OfBody     string            `json:"MD5OfBody"`
	Body          string            `json:"Body"`
	Attributes    map[string]string `json:"Attributes,omitempty"`
}

func receiveOutput(got []Received, names []string) any {
	msgs := make([]outMessage, 0, len(got))
	for _, m := range got {
		all := map[string]string{
			"SenderId":                         Account,
			"SentTimestamp":                    strconv.FormatInt(m.SentAt.UnixMilli(), 10),
			"ApproximateReceiveCount":          strconv.Itoa(m.ReceiveCount),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.FirstReceived.UnixMilli(), 10),
		}
		attrs := pick(all, names)
		if len(attrs) == 0 {
			attrs = nil
		}
		msgs = append(msgs, outMessage{MessageID: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5OfBody, Body: m.Body, Attributes: attrs})
	}
	if len(msgs) == 0 {
		return struct{}{}
	}
	return map[string][]outMessage{"Messages": msgs}
}

type batchFailure struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
}

func (s *Service) deleteBatch(ctx context.Context, in request) (any, error) {
	if len(in.Entries) == 0 {
		return nil, &apiError{400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request."}
	}
	if len(in.Entries) > 10 {
		return nil, &apiError{400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10."}
	}
	seen := map[string]bool{}
	for _, e := range in.Entries {
		if seen[e.ID] {
			return nil, &apiError{400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id " + e.ID + " repeated."}
		}
		seen[e.ID] = true
	}
	ok := []map[string]string{}
	failed := []batchFailure{}
	for _, e := range in.Entries {
		if err := s.DeleteMessage(ctx, in.QueueURL, e.ReceiptHandle); err != nil {
			if errors.Is(err, ErrQueueDoesNotExist) {
				return nil, err
			}
			ae := toAPIError(err)
			failed = append(failed, batchFailure{ID: e.ID, SenderFault: ae.status < 500, Code: ae.typ, Message: ae.msg})
			continue
		}
		ok = append(ok, map[string]string{"Id": e.ID})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}
