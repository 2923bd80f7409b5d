package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Bounds of a List: how many messages by default and at most, how long they are
// held hidden while it reads (SQS's visibility timeout), and how long it may take.
const (
	DefaultListMessages = 100
	MaxListMessages     = 1000
	listHold            = 10 * time.Second
	listBudget          = 5 * time.Second
)

// ListedMessage is one failure-queue message as List shows it.
type ListedMessage struct {
	MessageID     string `json:"messageId"`
	SentTimestamp int64  `json:"sentTimestamp,omitempty"` // ms since the epoch
	// ReceiveCount is SQS's ApproximateReceiveCount, this List's receive included.
	ReceiveCount int `json:"receiveCount"`
	// Body is the message body: its JSON when it is JSON (a failure message), else
	// the body as a JSON string.
	Body json.RawMessage `json:"body"`
}

// Listing is List's answer.
type Listing struct {
	Messages []ListedMessage `json:"messages"`
	// ApproximateCount is SQS's ApproximateNumberOfMessages plus
	// ApproximateNumberOfMessagesNotVisible, read before the receives: every message
	// the queue holds, visible or not.
	ApproximateCount int `json:"approximateCount"`
}

// List reads up to max messages of the failure queue without consuming them: it
// receives them with a short visibility timeout and makes each visible again at once.
//
// What SQS guarantees here (standard queue): nothing like a snapshot. A receive
// returns at most 10 messages, long polling (WaitTimeSeconds > 0) asks every server
// but may still return fewer than are visible, a message may be returned twice (so
// ids are de-duplicated), messages in flight elsewhere (a redrive round holding them)
// are not returned at all, and each receive counts in ApproximateReceiveCount. While
// List holds them (at most listHold) nobody else can receive them: a redrive round
// running at that moment does not see them, and its report counts them as neither
// done nor left. The list stops at max, at an empty receive (which waits a second:
// ApproximateNumberOfMessages lags behind sends, so it cannot end the list), or after
// listBudget. (SQS Developer Guide: sqs-short-and-long-polling.html,
// sqs-visibility-timeout.html; API_GetQueueAttributes for the approximate counts.)
func (r *Redriver) List(ctx context.Context, max int) (Listing, error) {
	switch {
	case max == 0:
		max = DefaultListMessages
	case max < 0 || max > MaxListMessages:
		return Listing{}, fmt.Errorf("list: maxMessages %d: must be 1 to %d", max, MaxListMessages)
	}
	count, err := r.approximateCount(ctx)
	if err != nil {
		return Listing{}, err
	}
	out := Listing{Messages: []ListedMessage{}, ApproximateCount: count}
	receipts := map[string]string{} // message id → latest receipt handle
	deadline := r.now().Add(listBudget)
	defer r.showAgain(ctx, receipts)
	for len(out.Messages) < max && r.now().Before(deadline) {
		got, err := r.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(r.QueueURL),
			MaxNumberOfMessages: int32(min(10, max-len(out.Messages))),
			VisibilityTimeout:   int32(listHold / time.Second),
			WaitTimeSeconds:     1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{
				sqstypes.MessageSystemAttributeNameSentTimestamp, sqstypes.MessageSystemAttributeNameApproximateReceiveCount,
			},
		})
		if err != nil {
			return out, fmt.Errorf("list: receive from %s: %w", r.QueueURL, err)
		}
		if len(got.Messages) == 0 {
			break
		}
		for _, m := range got.Messages {
			id := aws.ToString(m.MessageId)
			if _, seen := receipts[id]; !seen {
				out.Messages = append(out.Messages, listed(m))
			}
			receipts[id] = aws.ToString(m.ReceiptHandle)
		}
	}
	return out, nil
}

// approximateCount is every message the queue holds, visible or not.
func (r *Redriver) approximateCount(ctx context.Context) (int, error) {
	visibleName, hiddenName := sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible
	attrs, err := r.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(r.QueueURL), AttributeNames: []sqstypes.QueueAttributeName{visibleName, hiddenName},
	})
	if err != nil {
		return 0, fmt.Errorf("list: queue attributes of %s: %w", r.QueueURL, err)
	}
	visible, err1 := strconv.Atoi(attrs.Attributes[string(visibleName)])
	hidden, err2 := strconv.Atoi(attrs.Attributes[string(hiddenName)])
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("list: queue attributes of %s: counts %v", r.QueueURL, attrs.Attributes)
	}
	return visible + hidden, nil
}

func listed(m sqstypes.Message) ListedMessage {
	lm := ListedMessage{MessageID: aws.ToString(m.MessageId), Body: rawJSON(aws.ToString(m.Body))}
	lm.SentTimestamp, _ = strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	lm.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	return lm
}

// rawJSON is body itself when it is JSON, else body as a JSON string.
func rawJSON(body string) json.RawMessage {
	if json.Valid([]byte(body)) {
		return json.RawMessage(body)
	}
	b, _ := json.Marshal(body) // a string always marshals
	return b
}

// showAgain makes the listed messages visible again at once; one it fails for comes
// back by itself after listHold.
func (r *Redriver) showAgain(ctx context.Context, receipts map[string]string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for id, receipt := range receipts {
		if _, err := r.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(r.QueueURL), ReceiptHandle: aws.String(receipt), VisibilityTimeout: 0,
		}); err != nil {
			r.log().WarnContext(ctx, "redrive list: message stays hidden until its visibility timeout", "messageId", id, "err", err)
		}
	}
}
