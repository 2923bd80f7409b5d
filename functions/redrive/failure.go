package redrive

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// PermanentErrorNames are the errors a pipeline run meets again on the same object:
// the bytes are what they are. The failure queue's messages say so (their "permanent"
// flag comes from this list, repeated in the ASL's SendToFailureQueue state; a test
// holds the two together), and redrive leaves them unless asked for by message id or
// with IncludePermanent.
var PermanentErrorNames = []string{
	pipeline.ErrNameNotAnImage, pipeline.ErrNameUnsupported,
	pipeline.ErrNameCorrupt, pipeline.ErrNameTooLarge,
}

// IsPermanentError reports whether an error name is in PermanentErrorNames.
func IsPermanentError(name string) bool { return slices.Contains(PermanentErrorNames, name) }

// DefaultCeiling is how many times a failure is redriven from the queue before its
// message is parked: left in the queue, never started again by a redrive of the whole
// queue, only by a redrive that names it.
const DefaultCeiling = 5

// Failure is a failure-queue message body, as the state machines' Catch writes it
// (statemachine/*.asl.json, state SendToFailureQueue).
type Failure struct {
	Error string `json:"error"`
	Cause string `json:"cause"`
	State string `json:"state"`
	// Input is the failed execution's input: the S3 event, which a redrive starts again.
	Input json.RawMessage `json:"input"`
	// ExecutionArn is the failed execution ($$.Execution.Id). Its name carries the
	// redrive count (ExecutionName).
	ExecutionArn string `json:"executionArn,omitempty"`
	// Permanent is the state machine's verdict on Error; nil in a message written
	// before the state machine said so, when Error's name decides.
	Permanent *bool `json:"permanent,omitempty"`
}

// ErrNotAFailure is a message body that is not a failure message with an event input.
var ErrNotAFailure = errors.New("not a failure message")

// ParseFailure reads a message body. The input must be an S3 object event.
func ParseFailure(body string) (Failure, pipeline.ObjectEvent, error) {
	var f Failure
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		return Failure{}, pipeline.ObjectEvent{}, fmt.Errorf("%w: %v", ErrNotAFailure, err)
	}
	var ev pipeline.ObjectEvent
	if len(f.Input) == 0 || json.Unmarshal(f.Input, &ev) != nil || ev.DetailType == "" {
		return Failure{}, pipeline.ObjectEvent{}, fmt.Errorf("%w: no S3 event input", ErrNotAFailure)
	}
	return f, ev, nil
}

// IsPermanent is the message's own verdict, or the error name's for older messages.
func (f Failure) IsPermanent() bool {
	if f.Permanent != nil {
		return *f.Permanent
	}
	return IsPermanentError(f.Error)
}

// RedriveCount is how many queue redrives led to the failed execution: 0 for a run
// the S3 event started.
func (f Failure) RedriveCount() int { return RedriveCountOf(f.ExecutionArn) }

// The count travels in the execution's name, not its input: the input stays the S3
// event exactly as sent (DESIGN.md), and a name is both visible in every console and
// in $$.Execution.Id, which the failure message carries.
var redriveName = regexp.MustCompile(`^redrive-(?:([0-9]+)-)?[0-9a-f]{32}$`)

// ExecutionName is the name of the execution that redrives message id for the
// count-th time: "redrive-<count>-<32 hex of the message id's SHA-256>". Stable for a
// message, so a repeated redrive meets ExecutionAlreadyExists instead of doubling the
// work; under Step Functions' 80-character limit.
func ExecutionName(messageID string, count int) string {
	return fmt.Sprintf("redrive-%d-%s", count, hashHex(messageID))
}

// RedriveCountOf reads the count from an execution ARN or name: 0 for a name that
// redrive did not make, 1 for the unnumbered "redrive-<hex>" names of earlier versions.
func RedriveCountOf(executionArnOrName string) int {
	name := executionArnOrName[strings.LastIndexByte(executionArnOrName, ':')+1:]
	m := redriveName.FindStringSubmatch(name)
	switch {
	case m == nil:
		return 0
	case m[1] == "":
		return 1
	}
	n, err := strconv.Atoi(m[1])
	if err != nil { // more digits than an int holds: far past any ceiling
		return int(^uint(0) >> 1)
	}
	return n
}

// Summary is what a failure message says, for a list of failures (the web app's
// Failures page): the fields a person acts on, decided in one place.
type Summary struct {
	Error        string `json:"error"`
	Cause        string `json:"cause"`
	State        string `json:"state"`
	Bucket       string `json:"bucket"`
	Key          string `json:"key"` // decoded: as the object is named in S3
	DetailType   string `json:"detailType"`
	ExecutionArn string `json:"executionArn,omitempty"`
	Permanent    bool   `json:"permanent"`
	RedriveCount int    `json:"redriveCount"`
	// Parked: the redrive count reached the ceiling; only a redrive naming the
	// message starts it again.
	Parked bool `json:"parked"`
}

// Summarize reads a message body for listing, with DefaultCeiling.
func Summarize(body string) (Summary, error) {
	f, ev, err := ParseFailure(body)
	if err != nil {
		return Summary{}, err
	}
	n := f.RedriveCount()
	return Summary{
		Error: f.Error, Cause: f.Cause, State: f.State,
		Bucket: ev.Detail.Bucket.Name, Key: objectKey(ev), DetailType: ev.DetailType,
		ExecutionArn: f.ExecutionArn, Permanent: f.IsPermanent(), RedriveCount: n, Parked: n >= DefaultCeiling,
	}, nil
}

// objectKey is the event's object key as a person reads it (S3 URL-encodes it in
// events); the key as sent when it does not decode, so that it can still be found.
func objectKey(ev pipeline.ObjectEvent) string {
	if k, err := ev.Key(); err == nil {
		return k
	}
	return ev.Detail.Object.Key
}
