// Package sqs is the twin's SQS endpoint (JSON protocol) and a Go API for in-process
// callers, durable in bbolt: a message accepted is never lost across restarts, and
// in-flight messages become visible again after their timeout, restarts included.
package sqs

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Account and Region the twin plays.
const (
	Account = awsid.Account
	Region  = awsid.Region
)

// Clock is time for the service; tests inject one so nothing sleeps.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a Service.
type Options struct {
	// BaseURL is the edge endpoint queue URLs start with (default http://127.0.0.1:4566).
	BaseURL string
	Clock   Clock
	Logger  *slog.Logger
}

// Service is a set of durable queues.
type Service struct {
	db    *bolt.DB
	base  string
	clock Clock
	log   *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever a message may have become receivable
}

// Message is one message as the Go API returns it.
type Message struct {
	MessageID     string    `json:"messageId"`
	Body          string    `json:"body"`
	MD5OfBody     string    `json:"md5OfBody"`
	SentAt        time.Time `json:"sentTimestamp"`
	ReceiveCount  int       `json:"approximateReceiveCount"`
	FirstReceived time.Time `json:"approximateFirstReceiveTimestamp,omitzero"`
}

// stored is a message's record.
type stored struct {
	ID           string `json:"id"`
	Body         string `json:"body"`
	MD5          string `json:"md5"`
	Sent         int64  `json:"sent"`      // unix ms
	VisibleAt    int64  `json:"visibleAt"` // unix ms
	ReceiveCount int    `json:"receiveCount"`
	FirstReceive int64  `json:"firstReceive,omitempty"`
	Nonce        string `json:"nonce,omitempty"` // of the latest receipt handle
}

type queueRecord struct {
	Attributes map[string]string `json:"attributes"`
	Created    int64             `json:"created"`
	Modified   int64             `json:"modified"`
}

var queuesBucket = []byte("queues")

func msgBucket(name string) []byte { return []byte("q:" + name) }

// Errors callers branch on; the HTTP layer maps them to SQS error shapes.
var (
	ErrQueueDoesNotExist = errors.New("the specified queue does not exist")
	ErrReceiptHandle     = errors.New("the input receipt handle is invalid")
	ErrNotInflight       = errors.New("the message referred to is not in flight")
	ErrInvalidParameter  = errors.New("invalid parameter value")
	ErrQueueNameExists   = errors.New("a queue already exists with the same name and different attributes")
)

var defaultAttributes = map[string]string{
	"VisibilityTimeout":             "30",
	"MessageRetentionPeriod":        "345600",
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            "262144",
	"ReceiveMessageWaitTimeSeconds": "0",
}

// Open opens (or creates) the queue database at path.
func Open(path string, opts Options) (*Service, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = "http://127.0.0.1:4566"
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("sqs: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(queuesBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqs: init: %w", err)
	}
	return &Service{
		db: db, base: strings.TrimRight(opts.BaseURL, "/"), clock: opts.Clock,
		log: opts.Logger.With("component", "sqs"), changed: make(chan struct{}),
	}, nil
}

// Close closes the database.
func (s *Service) Close() error {
	s.wake()
	return s.db.Close()
}

// QueueURL is the URL of a queue name.
func (s *Service) QueueURL(name string) string { return s.base + "/" + Account + "/" + name }

// QueueName extracts the name from a queue URL (any host; the last path segment).
func QueueName(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("%w: queue URL %q", ErrQueueDoesNotExist, queueURL)
	}
	name := path.Base(u.Path)
	if !validName(name) {
		return "", fmt.Errorf("%w: queue URL %q", ErrQueueDoesNotExist, queueURL)
	}
	return name, nil
}

func validName(name string) bool {
	n := strings.TrimSuffix(name, ".fifo")
	if n == "" || len(name) > 80 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Service) wake() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *Service) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// CreateQueue creates a queue or returns the existing one when its attributes agree.
func (s *Service) CreateQueue(ctx context.Context, name string, attrs map[string]string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("%w: queue name %q", ErrInvalidParameter, name)
	}
	for k, v := range attrs {
		if err := checkAttribute(k, v); err != nil {
			return "", err
		}
	}
	now := ms(s.clock.Now())
	err := s.db.Update(func(tx *bolt.Tx) error {
		qb := tx.Bucket(queuesBucket)
		if v := qb.Get([]byte(name)); v != nil {
			var q queueRecord
			if err := json.Unmarshal(v, &q); err != nil {
				return err
			}
			for k, want := range attrs {
				if q.Attributes[k] != want {
					return fmt.Errorf("%w: %s", ErrQueueNameExists, name)
				}
			}
			return nil
		}
		q := queueRecord{Attributes: map[string]string{}, Created: now, Modified: now}
		for k, v := range defaultAttributes {
			q.Attributes[k] = v
		}
		for k, v := range attrs {
			q.Attributes[k] = v
		}
		v, err := json.Marshal(q)
		if err != nil {
			return err
		}
		if err := qb.Put([]byte(name), v); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(msgBucket(name))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sqs: create queue: %w", err)
	}
	return s.QueueURL(name), nil
}

func checkAttribute(k, v string) error {
	limits := map[string][2]int{
		"VisibilityTimeout":             {0, 43200},
		"MessageRetentionPeriod":        {60, 1209600},
		"DelaySeconds":                  {0, 900},
		"MaximumMessageSize":            {1024, 1048576},
		"ReceiveMessageWaitTimeSeconds": {0, 20},
	}
	lim, ok := limits[k]
	if !ok {
		if k == "Policy" || k == "RedrivePolicy" || k == "RedriveAllowPolicy" || k == "KmsMasterKeyId" ||
			k == "KmsDataKeyReusePeriodSeconds" || k == "SqsManagedSseEnabled" {
			return nil // stored, not enforced
		}
		return fmt.Errorf("%w: unknown attribute %s", ErrInvalidParameter, k)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lim[0] || n > lim[1] {
		return fmt.Errorf("%w: %s must be an integer from %d to %d", ErrInvalidParameter, k, lim[0], lim[1])
	}
	return nil
}

func (s *Service) queue(tx *bolt.Tx, name string) (queueRecord, *bolt.Bucket, error) {
	var q queueRecord
	v := tx.Bucket(queuesBucket).Get([]byte(name))
	mb := tx.Bucket(msgBucket(name))
	if v == nil || mb == nil {
		return q, nil, fmt.Errorf("%w: %s", ErrQueueDoesNotExist, name)
	}
	return q, mb, json.Unmarshal(v, &q)
}

func attrInt(q queueRecord, name string) int {
	n, _ := strconv.Atoi(q.Attributes[name])
	return n
}

// GetQueueURL returns the URL of an existing queue.
func (s *Service) GetQueueURL(ctx context.Context, name string) (string, error) {
	err := s.db.View(func(tx *bolt.Tx) error {
		_, _, err := s.queue(tx, name)
		return err
	})
	if err != nil {
		return "", err
	}
	return s.QueueURL(name), nil
}

// ListQueues returns the URLs of queues whose names start with prefix, sorted.
func (s *Service) ListQueues(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(queuesBucket).ForEach(func(k, _ []byte) error {
			if strings.HasPrefix(string(k), prefix) {
				out = append(out, s.QueueURL(string(k)))
			}
			return nil
		})
	})
	return out, err
}

// DeleteQueue removes a queue and its messages.
func (s *Service) DeleteQueue(ctx context.Context, queueURL string) error {
	name, err := QueueName(queueURL)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, _, err := s.queue(tx, name); err != nil {
			return err
		}
		if err := tx.DeleteBucket(msgBucket(name)); err != nil {
			return err
		}
		return tx.Bucket(queuesBucket).Delete([]byte(name))
	})
}

// SendMessage stores a message durably and returns its id. It satisfies the ASL
// engine's MessageSender.
func (s *Service) SendMessage(ctx context.Context, queueURL, body string) (string, error) {
	id, _, err := s.send(ctx, queueURL, body, -1)
	return id, err
}

func (s *Service) send(ctx context.Context, queueURL, body string, delay int) (id, sum string, err error) {
	name, err := QueueName(queueURL)
	if err != nil {
		return "", "", err
	}
	if body == "" {
		return "", "", fmt.Errorf("%w: the message body must not be empty", ErrInvalidParameter)
	}
	if !validBody(body) {
		return "", "", fmt.Errorf("%w: the message contains characters outside the allowed set", ErrInvalidParameter)
	}
	now := s.clock.Now()
	m := stored{ID: newID(), Body: body, MD5: md5Hex(body), Sent: ms(now)}
	err = s.db.Update(func(tx *bolt.Tx) error {
		q, mb, err := s.queue(tx, name)
		if err != nil {
			return err
		}
		if max := attrInt(q, "MaximumMessageSize"); len(body) > max {
			return fmt.Errorf("%w: message of %d bytes is over the queue's limit of %d", ErrInvalidParameter, len(body), max)
		}
		if delay < 0 {
			delay = attrInt(q, "DelaySeconds")
		}
		m.VisibleAt = ms(now.Add(time.Duration(delay) * time.Second))
		seq, err := mb.NextSequence()
		if err != nil {
			return err
		}
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return mb.Put(binary.BigEndian.AppendUint64(nil, seq), v)
	})
	if err != nil {
		return "", "", fmt.Errorf("sqs: send to %s: %w", name, err)
	}
	s.wake()
	return m.ID, m.MD5, nil
}

// validBody applies SQS's character rule: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func validBody(b string) bool {
	if !utf8.ValidString(b) {
		return false
	}
	for _, r := range b {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return false
		}
	}
	return true
}

// List returns a queue's messages without changing their visibility (for /api/failures).
func (s *Service) List(ctx context.Context, queueName string) ([]Message, error) {
	out := []Message{}
	err := s.db.View(func(tx *bolt.Tx) error {
		_, mb, err := s.queue(tx, queueName)
		if err != nil {
			return err
		}
		return mb.ForEach(func(_, v []byte) error {
			var m stored
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m.public())
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqs: list %s: %w", queueName, err)
	}
	return out, nil
}

func (m stored) public() Message {
	pm := Message{MessageID: m.ID, Body: m.Body, MD5OfBody: m.MD5, SentAt: time.UnixMilli(m.Sent).UTC(), ReceiveCount: m.ReceiveCount}
	if m.FirstReceive != 0 {
		pm.FirstReceived = time.UnixMilli(m.FirstReceive).UTC()
	}
	return pm
}

// Received is one message handed out by Receive.
type Received struct {
	Message
	ReceiptHandle string
}

// ReceiveInput mirrors ReceiveMessage's parameters; negative VisibilityTimeout and
// WaitTimeSeconds mean "the queue's default".
type ReceiveInput struct {
	QueueURL          string
	Max               int
	VisibilityTimeout int
	WaitTimeSeconds   int
}

// Receive hands out up to Max visible messages, hiding them for the visibility
// timeout. With WaitTimeSeconds it long-polls: it waits on sends and on in-flight
// messages' timeouts, never spinning.
func (s *Service) Receive(ctx context.Context, in ReceiveInput) ([]Received, error) {
	name, err := QueueName(in.QueueURL)
	if err != nil {
		return nil, err
	}
	if in.Max == 0 {
		in.Max = 1
	}
	if in.Max < 1 || in.Max > 10 {
		return nil, fmt.Errorf("%w: MaxNumberOfMessages must be from 1 to 10", ErrInvalidParameter)
	}
	if in.VisibilityTimeout > 43200 {
		return nil, fmt.Errorf("%w: VisibilityTimeout must be from 0 to 43200", ErrInvalidParameter)
	}
	if in.WaitTimeSeconds > 20 {
		return nil, fmt.Errorf("%w: WaitTimeSeconds must be from 0 to 20", ErrInvalidParameter)
	}
	var deadline time.Time
	for {
		changed := s.changes() // before the scan, so a send during it is not missed
		got, next, wait, err := s.receiveOnce(name, in)
		if err != nil || len(got) > 0 {
			return got, err
		}
		if deadline.IsZero() {
			deadline = s.clock.Now().Add(time.Duration(wait) * time.Second)
		}
		now := s.clock.Now()
		if !now.Before(deadline) {
			return nil, nil
		}
		d := deadline.Sub(now)
		if !next.IsZero() && next.Sub(now) < d {
			d = max(next.Sub(now), time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		case <-s.clock.After(d):
		}
	}
}

// receiveOnce takes visible messages; when there are none it reports when the next
// hidden one becomes visible and the queue's default wait.
func (s *Service) receiveOnce(name string, in ReceiveInput) (got []Received, next time.Time, wait int, err error) {
	now := s.clock.Now()
	nowMS := ms(now)
	err = s.db.Update(func(tx *bolt.Tx) error {
		q, mb, err := s.queue(tx, name)
		if err != nil {
			return err
		}
		wait = in.WaitTimeSeconds
		if wait < 0 {
			wait = attrInt(q, "ReceiveMessageWaitTimeSeconds")
		}
		vt := in.VisibilityTimeout
		if vt < 0 {
			vt = attrInt(q, "VisibilityTimeout")
		}
		expire := nowMS - int64(attrInt(q, "MessageRetentionPeriod"))*1000
		var nextMS int64
		var expired [][]byte
		c := mb.Cursor()
		for k, v := c.First(); k != nil && len(got) < in.Max; k, v = c.Next() {
			var m stored
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.Sent < expire {
				expired = append(expired, append([]byte(nil), k...))
				continue
			}
			if m.VisibleAt > nowMS {
				if nextMS == 0 || m.VisibleAt < nextMS {
					nextMS = m.VisibleAt
				}
				continue
			}
			m.ReceiveCount++
			if m.FirstReceive == 0 {
				m.FirstReceive = nowMS
			}
			m.VisibleAt = nowMS + int64(vt)*1000
			m.Nonce = newNonce()
			nv, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if err := mb.Put(k, nv); err != nil {
				return err
			}
			got = append(got, Received{Message: m.public(), ReceiptHandle: handle(name, binary.BigEndian.Uint64(k), m.Nonce)})
		}
		for _, k := range expired {
			if err := mb.Delete(k); err != nil {
				return err
			}
		}
		if nextMS != 0 {
			next = time.UnixMilli(nextMS)
		}
		return nil
	})
	return got, next, wait, err
}

func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// A receipt handle names the queue, the message's slot and this receive's nonce.
func handle(queue string, seq uint64, nonce string) string {
	return fmt.Sprintf("%s:%016x:%s", queue, seq, nonce)
}

func parseHandle(h string) (queue string, seq []byte, nonce string, err error) {
	parts := strings.Split(h, ":")
	if len(parts) != 3 || len(parts[1]) != 16 || parts[2] == "" {
		return "", nil, "", fmt.Errorf("%w: %q", ErrReceiptHandle, h)
	}
	n, err := strconv.ParseUint(parts[1], 16, 64)
	if err != nil {
		return "", nil, "", fmt.Errorf("%w: %q", ErrReceiptHandle, h)
	}
	return parts[0], binary.BigEndian.AppendUint64(nil, n), parts[2], nil
}

// withMessage runs fn on the message a receipt handle names, inside a write
// transaction; fn returns the updated message, or nil to delete it.
func (s *Service) withMessage(queueURL, receipt string, fn func(m *stored) (*stored, error)) error {
	name, err := QueueName(queueURL)
	if err != nil {
		return err
	}
	hq, key, nonce, err := parseHandle(receipt)
	if err != nil {
		return err
	}
	if hq != name {
		return fmt.Errorf("%w: it belongs to another queue", ErrReceiptHandle)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		_, mb, err := s.queue(tx, name)
		if err != nil {
			return err
		}
		v := mb.Get(key)
		if v == nil {
			return errGone
		}
		var m stored
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if m.Nonce != nonce {
			return errGone
		}
		nm, err := fn(&m)
		if err != nil {
			return err
		}
		if nm == nil {
			return mb.Delete(key)
		}
		nv, err := json.Marshal(nm)
		if err != nil {
			return err
		}
		return mb.Put(key, nv)
	})
}

// errGone is a well-formed handle whose message was deleted or received again.
var errGone = errors.New("gone")

// DeleteMessage deletes the message a receipt handle names. Like SQS, deleting a
// message that is already gone succeeds.
func (s *Service) DeleteMessage(ctx context.Context, queueURL, receipt string) error {
	err := s.withMessage(queueURL, receipt, func(*stored) (*stored, error) { return nil, nil })
	if errors.Is(err, errGone) {
		return nil
	}
	return err
}

// ChangeVisibility sets an in-flight message's remaining visibility timeout.
func (s *Service) ChangeVisibility(ctx context.Context, queueURL, receipt string, seconds int) error {
	if seconds < 0 || seconds > 43200 {
		return fmt.Errorf("%w: VisibilityTimeout must be from 0 to 43200", ErrInvalidParameter)
	}
	now := ms(s.clock.Now())
	err := s.withMessage(queueURL, receipt, func(m *stored) (*stored, error) {
		if m.VisibleAt <= now {
			return nil, fmt.Errorf("%w: %s", ErrNotInflight, m.ID)
		}
		m.VisibleAt = now + int64(seconds)*1000
		return m, nil
	})
	if errors.Is(err, errGone) {
		return fmt.Errorf("%w: the message is gone or was received again", ErrReceiptHandle)
	}
	if err == nil {
		s.wake()
	}
	return err
}

// Purge deletes every message of a queue.
func (s *Service) Purge(ctx context.Context, queueURL string) error {
	name, err := QueueName(queueURL)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, _, err := s.queue(tx, name); err != nil {
			return err
		}
		if err := tx.DeleteBucket(msgBucket(name)); err != nil {
			return err
		}
		_, err := tx.CreateBucket(msgBucket(name))
		return err
	})
}

// Attributes returns the queue's attributes, computed ones included.
func (s *Service) Attributes(ctx context.Context, queueURL string) (map[string]string, error) {
	name, err := QueueName(queueURL)
	if err != nil {
		return nil, err
	}
	now := ms(s.clock.Now())
	out := map[string]string{}
	err = s.db.View(func(tx *bolt.Tx) error {
		q, mb, err := s.queue(tx, name)
		if err != nil {
			return err
		}
		for k, v := range q.Attributes {
			out[k] = v
		}
		var visible, inflight, delayed int
		err = mb.ForEach(func(_, v []byte) error {
			var m stored
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			switch {
			case m.VisibleAt <= now:
				visible++
			case m.ReceiveCount > 0:
				inflight++
			default:
				delayed++
			}
			return nil
		})
		out["ApproximateNumberOfMessages"] = strconv.Itoa(visible)
		out["ApproximateNumberOfMessagesNotVisible"] = strconv.Itoa(inflight)
		out["ApproximateNumberOfMessagesDelayed"] = strconv.Itoa(delayed)
		out["CreatedTimestamp"] = strconv.FormatInt(q.Created/1000, 10)
		out["LastModifiedTimestamp"] = strconv.FormatInt(q.Modified/1000, 10)
		out["QueueArn"] = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, name)
		out["SqsManagedSseEnabled"] = "false"
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetAttributes changes a queue's settable attributes.
func (s *Service) SetAttributes(ctx context.Context, queueURL string, attrs map[string]string) error {
	name, err := QueueName(queueURL)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if err := checkAttribute(k, v); err != nil {
			return err
		}
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		q, _, err := s.queue(tx, name)
		if err != nil {
			return err
		}
		for k, v := range attrs {
			q.Attributes[k] = v
		}
		q.Modified = ms(s.clock.Now())
		v, err := json.Marshal(q)
		if err != nil {
			return err
		}
		return tx.Bucket(queuesBucket).Put([]byte(name), v)
	})
	s.wake()
	return err
}
