package sqs

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// fakeClock moves only when a test says so; After fires when the clock passes it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

type env struct {
	svc    *Service
	http   *httptest.Server
	client *sqs.Client
	clock  *fakeClock
	url    string
}

func start(t *testing.T, path string, clock *fakeClock) *env {
	t.Helper()
	svc, err := Open(path, Options{BaseURL: "http://127.0.0.1:4566", Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc.Handler())
	c := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	e := &env{svc: svc, http: hs, client: c, clock: clock}
	t.Cleanup(e.stop)
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("failures")})
	if err != nil {
		t.Fatal(err)
	}
	e.url = aws.ToString(out.QueueUrl)
	return e
}

func (e *env) stop() {
	if e.http != nil {
		e.http.Close()
		e.svc.Close()
		e.http = nil
	}
}

func (e *env) receive(t *testing.T, max, vis int32) []types.Message {
	t.Helper()
	out, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(e.url), MaxNumberOfMessages: max, VisibilityTimeout: vis,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount", "SentTimestamp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

func (e *env) attrs(t *testing.T) map[string]string {
	t.Helper()
	out, err := e.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(e.url), AttributeNames: []types.QueueAttributeName{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

func TestQueueLifecycle(t *testing.T) {
	ctx := context.Background()
	e := start(t, filepath.Join(t.TempDir(), "q.db"), newFakeClock())
	if e.url != "http://127.0.0.1:4566/000000000000/failures" {
		t.Fatalf("queue url %s", e.url)
	}
	again, err := e.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("failures")})
	if err != nil || aws.ToString(again.QueueUrl) != e.url {
		t.Fatalf("CreateQueue is not idempotent: %v", err)
	}
	got, err := e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("failures")})
	if err != nil || aws.ToString(got.QueueUrl) != e.url {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	_, err = e.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var dne *types.QueueDoesNotExist
	if !errors.As(err, &dne) || dne.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("missing queue: %v", err)
	}
	list, err := e.client.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil || len(list.QueueUrls) != 1 {
		t.Fatalf("ListQueues: %v %v", list, err)
	}

	sent, err := e.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(e.url), MessageBody: aws.String(`{"error":"X"}`)})
	if err != nil { // the SDK checks MD5OfMessageBody itself
		t.Fatal(err)
	}
	id2, err := e.svc.SendMessage(ctx, e.url, `{"error":"Y"}`)
	if err != nil {
		t.Fatal(err)
	}
	if a := e.attrs(t); a["ApproximateNumberOfMessages"] != "2" || a["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:failures" ||
		a["MessageRetentionPeriod"] != "345600" || a["VisibilityTimeout"] != "30" {
		t.Fatalf("attributes %v", a)
	}

	msgs := e.receive(t, 10, 30)
	if len(msgs) != 2 || aws.ToString(msgs[0].MessageId) != aws.ToString(sent.MessageId) || aws.ToString(msgs[1].MessageId) != id2 {
		t.Fatalf("received %+v", msgs)
	}
	if msgs[0].Attributes["ApproximateReceiveCount"] != "1" ||
		msgs[0].Attributes["SentTimestamp"] != strconv.FormatInt(e.clock.Now().UnixMilli(), 10) {
		t.Errorf("system attributes %v", msgs[0].Attributes)
	}
	if a := e.attrs(t); a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "2" {
		t.Fatalf("in flight: %v", a)
	}
	if len(e.receive(t, 10, 30)) != 0 {
		t.Fatal("in-flight messages were handed out again")
	}
	// List shows everything without touching visibility.
	if l, _ := e.svc.List(ctx, "failures"); len(l) != 2 || l[0].Body != `{"error":"X"}` {
		t.Fatalf("List: %+v", l)
	}

	if _, err := e.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(e.url), ReceiptHandle: msgs[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// The visibility timeout expires: the second message returns with count 2.
	e.clock.Advance(31 * time.Second)
	again2 := e.receive(t, 10, 5)
	if len(again2) != 1 || aws.ToString(again2[0].MessageId) != id2 || again2[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after timeout: %+v", again2)
	}
	// An old receipt handle no longer changes visibility.
	_, err = e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 0})
	var rh *types.ReceiptHandleIsInvalid
	if !errors.As(err, &rh) {
		t.Fatalf("stale handle: %v", err)
	}
	if _, err := e.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.url), ReceiptHandle: again2[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	third := e.receive(t, 1, 30)
	if len(third) != 1 {
		t.Fatal("ChangeMessageVisibility 0 did not release the message")
	}
	del, err := e.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(e.url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: third[0].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: aws.String("garbage")},
	}})
	if err != nil || len(del.Successful) != 1 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch: %+v %v", del, err)
	}

	for i := 0; i < 3; i++ {
		e.svc.SendMessage(ctx, e.url, "m")
	}
	if _, err := e.client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(e.url)}); err != nil {
		t.Fatal(err)
	}
	if a := e.attrs(t); a["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("after purge: %v", a)
	}
	if _, err := e.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url), MaxNumberOfMessages: 11}); err == nil {
		t.Fatal("MaxNumberOfMessages 11 accepted")
	}
}

func TestLongPollWakesOnSend(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "q.db"), newFakeClock())
	type result struct {
		msgs []types.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		out, err := e.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url), WaitTimeSeconds: 20})
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{msgs: out.Messages}
	}()
	// Wait until the receive is parked on the clock, then send: the fake clock never
	// moves, so only the send can wake it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.clock.mu.Lock()
		n := len(e.clock.waiters)
		e.clock.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("receive never started waiting")
		}
		time.Sleep(time.Millisecond) // polling a condition, not timing
	}
	if _, err := e.svc.SendMessage(context.Background(), e.url, "wake up"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake up" {
			t.Fatalf("long poll: %+v %v", r.msgs, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not wake on send")
	}
}

func TestLongPollTimesOutOnClock(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "q.db"), newFakeClock())
	done := make(chan int, 1)
	go func() {
		got, _ := e.svc.Receive(context.Background(), ReceiveInput{QueueURL: e.url, WaitTimeSeconds: 5, VisibilityTimeout: -1})
		done <- len(got)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case n := <-done:
			if n != 0 {
				t.Fatalf("got %d messages from an empty queue", n)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("long poll never ended")
		}
		e.clock.Advance(time.Second)
		time.Sleep(time.Millisecond)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	clock := newFakeClock()
	e := start(t, path, clock)
	e.svc.SendMessage(ctx, e.url, "kept")
	e.svc.SendMessage(ctx, e.url, "in flight")
	if got := e.receive(t, 1, 60); len(got) != 1 || aws.ToString(got[0].Body) != "kept" {
		t.Fatalf("first receive: %+v", got)
	}
	e.stop()

	e2 := start(t, path, clock)
	if a := e2.attrs(t); a["ApproximateNumberOfMessages"] != "1" || a["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("after reopen: %v", a)
	}
	clock.Advance(61 * time.Second)
	got := e2.receive(t, 10, 30)
	if len(got) != 2 {
		t.Fatalf("after reopen and timeout: %d messages", len(got))
	}
}

func FuzzParseHandle(f *testing.F) {
	f.Add(handle("failures", 42, "abcd"))
	f.Add("a:b:c")
	f.Fuzz(func(t *testing.T, h string) {
		q, seq, nonce, err := parseHandle(h)
		if err == nil && (len(seq) != 8 || nonce == "" || handle(q, 0, nonce) == "") {
			t.Fatalf("accepted %q", h)
		}
	})
}
