package operations

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"github.com/imagepipe/imagepipe/functions/apiproxy"
)

// QueueAPI is the part of the SQS client GET /failures uses.
type QueueAPI interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// LambdaAPI is the part of the Lambda client the failure actions use.
type LambdaAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Bounds of GET /failures.
const (
	// PeekMax is the most messages one GET /failures shows.
	PeekMax = 100
	// PeekHideSeconds is how long a peeked message stays hidden should handing it
	// back fail: it is then visible again after this at the latest.
	PeekHideSeconds = 30
)

// FailureMessage is one message of the failure queue. Body is the message's JSON
// ({"error", "cause", "state", "input", "executionArn", "permanent"}), or a JSON
// string when the body is not JSON.
type FailureMessage struct {
	MessageID     string          `json:"messageId"`
	SentTimestamp int64           `json:"sentTimestamp,omitempty"`
	ReceiveCount  int             `json:"receiveCount"`
	Body          json.RawMessage `json:"body"`
}

// FailureList is GET /failures' answer. Complete says the peek ended before PeekMax,
// on an empty receive or with as many messages as the queue counted (every visible
// message is listed, as far as SQS tells); the
// approximate counts are SQS's, read before the peek: messages in flight (held by
// a redrive run) are not visible to it.
type FailureList struct {
	Messages                              []FailureMessage `json:"messages"`
	Complete                              bool             `json:"complete"`
	ApproximateNumberOfMessages           int              `json:"approximateNumberOfMessages"`
	ApproximateNumberOfMessagesNotVisible int              `json:"approximateNumberOfMessagesNotVisible"`
}

func (h Handler) listFailures(ctx context.Context) events.APIGatewayProxyResponse {
	out, err := h.peek(ctx)
	if err != nil {
		return h.fail(ctx, "read the failure queue", err)
	}
	return h.json(http.StatusOK, out)
}

// peek lists the queue without consuming it. SQS has no peek: a message is seen only
// by receiving it, which hides it for the visibility timeout and counts as a receive
// (ApproximateReceiveCount; the failure queue has no redrive policy, so receives
// never move a message anywhere). Each is hidden while the peek lasts, so that no
// receive returns it twice, then handed back at once (ChangeMessageVisibility 0).
// Meanwhile a redrive run cannot receive it (and one that finds its queue empty
// stops), so the peek holds messages only while it receives: it stops once it has
// as many as the queue counted before (ApproximateNumberOfMessages), and only its
// first receive, with nothing held yet, long-polls ("Amazon SQS short and long
// polling", SQS developer guide). A standard queue promises
// at-least-once delivery, not a consistent listing: long polling asks every SQS
// server, so an empty first answer means empty; a later short poll samples some
// servers, and the count is approximate, so a message may be missed (Complete
// says how the peek ended, not more), and one sent during the peek may or may not
// be in it.
func (h Handler) peek(ctx context.Context) (FailureList, error) {
	out := FailureList{Messages: []FailureMessage{}}
	attrs, err := h.Queue.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(h.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return out, fmt.Errorf("GetQueueAttributes: %w", err)
	}
	out.ApproximateNumberOfMessages, _ = strconv.Atoi(attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	out.ApproximateNumberOfMessagesNotVisible, _ = strconv.Atoi(attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	held := map[string]string{} // message id → latest receipt handle
	defer h.handBack(ctx, held)
	for len(out.Messages) < PeekMax {
		if len(held) > 0 && len(held) >= out.ApproximateNumberOfMessages {
			out.Complete = true // every message the queue counted: no last, empty receive
			break
		}
		// Only the first receive waits: a wait while messages are held would keep them
		// from a redrive run for that long.
		wait := int32(1)
		if len(held) > 0 {
			wait = 0
		}
		got, err := h.Queue.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(h.QueueURL),
			MaxNumberOfMessages: int32(min(10, PeekMax-len(out.Messages))),
			VisibilityTimeout:   PeekHideSeconds,
			WaitTimeSeconds:     wait,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
				sqstypes.MessageSystemAttributeNameSentTimestamp, sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
			},
		})
		if err != nil {
			return out, fmt.Errorf("ReceiveMessage: %w", err)
		}
		if len(got.Messages) == 0 {
			out.Complete = true
			break
		}
		for _, m := range got.Messages {
			id := aws.ToString(m.MessageId)
			_, seen := held[id]
			held[id] = aws.ToString(m.ReceiptHandle)
			if !seen { // SQS may deliver a message twice; list it once
				out.Messages = append(out.Messages, failureMessage(m))
			}
		}
	}
	return out, nil
}

// failureMessage is m as the API shows it; its receive count leaves out the peek's
// own receive.
func failureMessage(m sqstypes.Message) FailureMessage {
	sent, _ := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	count, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	body := []byte(aws.ToString(m.Body))
	if !json.Valid(body) {
		body, _ = json.Marshal(string(body)) // a string: always encodes
	}
	return FailureMessage{MessageID: aws.ToString(m.MessageId), SentTimestamp: sent, ReceiveCount: max(count-1, 0), Body: body}
}

// handBack makes the peeked messages visible again. It runs even when the request's
// context is done; a message it cannot hand back is visible again after
// PeekHideSeconds anyway.
func (h Handler) handBack(ctx context.Context, held map[string]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(describeConcurrency)
	for id, receipt := range held {
		g.Go(func() error {
			_, err := h.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(h.QueueURL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: 0,
			})
			if err != nil {
				h.log().WarnContext(ctx, "hand back a peeked message", "messageId", id, "error", err.Error(),
					"visibleAgainWithin", PeekHideSeconds)
			}
			return nil
		})
	}
	g.Wait()
}

// failureActionRequest is POST /failures/redrive's body (optional; every field too)
// and /failures/discard's (messageIds required).
type failureActionRequest struct {
	MessageIDs       []string `json:"messageIds,omitempty"`
	IncludePermanent bool     `json:"includePermanent,omitempty"`
	SentBefore       int64    `json:"sentBefore,omitempty"`
}

// maxMessageIDs bounds one request's messageIds (SQS message ids are 36 characters).
const maxMessageIDs = 1000

func parseFailureAction(action, body string) (map[string]any, error) {
	var in failureActionRequest
	if len(bytes.TrimSpace([]byte(body))) > 0 {
		dec := json.NewDecoder(bytes.NewReader([]byte(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, &InputError{"body: " + err.Error()}
		}
	}
	if len(in.MessageIDs) > maxMessageIDs {
		return nil, &InputError{fmt.Sprintf("messageIds: at most %d", maxMessageIDs)}
	}
	for _, id := range in.MessageIDs {
		if id == "" || len(id) > 100 {
			return nil, &InputError{"messageIds: each must be a message id (1 to 100 characters)"}
		}
	}
	if in.SentBefore < 0 {
		return nil, &InputError{"sentBefore: must not be negative"}
	}
	// The redrive Lambda's input (functions/cmd/redrive).
	if action == "discard" {
		if len(in.MessageIDs) == 0 || in.IncludePermanent || in.SentBefore != 0 {
			return nil, &InputError{"discard takes messageIds (the messages to delete) and nothing else"}
		}
		return map[string]any{"mode": "queue", "discard": in.MessageIDs}, nil
	}
	return map[string]any{"mode": "queue", "messageIds": in.MessageIDs, "includePermanent": in.IncludePermanent, "sentBefore": in.SentBefore}, nil
}

// failureAction answers POST /failures/redrive and /failures/discard. A redrive
// starts the redrive job and answers at once with its execution (issue: a redrive
// must return with a job the caller can follow); a discard, and a redrive where the
// stack has no job, invoke the redrive Lambda synchronously and answer its report.
func (h Handler) failureAction(ctx context.Context, action, body string) events.APIGatewayProxyResponse {
	payload, err := parseFailureAction(action, body)
	if err != nil {
		return h.fail(ctx, action, err)
	}
	if action == "redrive" && h.RedriveJobArn != "" {
		return h.startRedriveJob(ctx, payload)
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return h.fail(ctx, action, err)
	}
	out, err := h.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(h.RedriveFunction), InvocationType: lambdatypes.InvocationTypeRequestResponse, Payload: raw,
	})
	if err != nil {
		return h.fail(ctx, action, fmt.Errorf("invoke %s: %w", h.RedriveFunction, err))
	}
	if out.FunctionError != nil {
		return h.functionError(ctx, action, out)
	}
	if !json.Valid(out.Payload) {
		return h.error(http.StatusBadGateway, fmt.Sprintf("the redrive function answered %d bytes that are not JSON", len(out.Payload)))
	}
	h.log().InfoContext(ctx, "failure "+action, "messageIds", payload["messageIds"], "discard", payload["discard"])
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: apiproxy.Headers(h.AllowOrigin, methods), Body: string(out.Payload)}
}

// functionError answers the redrive Lambda's own error: its InputError is the
// caller's (400), anything else the function's (502).
func (h Handler) functionError(ctx context.Context, action string, out *lambda.InvokeOutput) events.APIGatewayProxyResponse {
	var fe struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(out.Payload, &fe); err != nil || fe.Type == "" {
		fe.Type, fe.Message = aws.ToString(out.FunctionError), string(out.Payload)
	}
	h.log().WarnContext(ctx, "redrive function error", "action", action, "type", fe.Type, "message", fe.Message)
	status := http.StatusBadGateway
	if fe.Type == "InputError" {
		status = http.StatusBadRequest
	}
	return h.json(status, apiproxy.ErrorBody{Error: "redrive function: " + fe.Type + ": " + fe.Message, Code: fe.Type})
}

// startRedriveJob starts the redrive job with the request's messageIds and
// includePermanent (the job takes its own snapshot, so sentBefore is refused) and
// answers 202 {"executionArn", "startDate"}.
func (h Handler) startRedriveJob(ctx context.Context, payload map[string]any) events.APIGatewayProxyResponse {
	if sb, _ := payload["sentBefore"].(int64); sb != 0 {
		return h.fail(ctx, "redrive", &InputError{"sentBefore: the redrive job takes its own snapshot of the queue"})
	}
	in := map[string]any{}
	if ids, _ := payload["messageIds"].([]string); len(ids) > 0 {
		in["messageIds"] = ids
	}
	if p, _ := payload["includePermanent"].(bool); p {
		in["includePermanent"] = true
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return h.fail(ctx, "redrive", err)
	}
	out, err := h.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(h.RedriveJobArn), Input: aws.String(string(raw))})
	if err != nil {
		return h.fail(ctx, "redrive", err)
	}
	h.log().InfoContext(ctx, "redrive job started", "input", string(raw), "answer", string(out))
	return events.APIGatewayProxyResponse{StatusCode: http.StatusAccepted, Headers: apiproxy.Headers(h.AllowOrigin, methods), Body: string(out)}
}
