package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ev(id, prev int64, typ sfntypes.HistoryEventType, atMs int, name string) sfntypes.HistoryEvent {
	e := sfntypes.HistoryEvent{Id: id, PreviousEventId: prev, Type: typ, Timestamp: aws.Time(t0.Add(time.Duration(atMs) * time.Millisecond))}
	switch typ {
	case sfntypes.HistoryEventTypeTaskStateEntered, sfntypes.HistoryEventTypeParallelStateEntered:
		e.StateEnteredEventDetails = &sfntypes.StateEnteredEventDetails{Name: aws.String(name)}
	case sfntypes.HistoryEventTypeTaskStateExited, sfntypes.HistoryEventTypeParallelStateExited:
		e.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String(name)}
	}
	return e
}

// history is one execution shaped like the twin's: two parallel Tasks, interleaved.
func history(scale int) []sfntypes.HistoryEvent {
	s := func(ms int) int { return ms * scale }
	return []sfntypes.HistoryEvent{
		ev(1, 0, sfntypes.HistoryEventTypeExecutionStarted, 0, ""),
		ev(2, 1, sfntypes.HistoryEventTypeParallelStateEntered, s(1), "P"),
		ev(3, 2, sfntypes.HistoryEventTypeTaskStateEntered, s(2), "A"),
		ev(4, 2, sfntypes.HistoryEventTypeTaskStateEntered, s(2), "B"),
		ev(5, 3, sfntypes.HistoryEventTypeTaskScheduled, s(3), ""),
		ev(6, 4, sfntypes.HistoryEventTypeTaskScheduled, s(3), ""),
		ev(7, 6, sfntypes.HistoryEventTypeTaskStarted, s(4), ""),  // B waited 1
		ev(8, 5, sfntypes.HistoryEventTypeTaskStarted, s(13), ""), // A waited 10
		ev(9, 7, sfntypes.HistoryEventTypeTaskSucceeded, s(24), ""),
		ev(10, 9, sfntypes.HistoryEventTypeTaskStateExited, s(25), "B"),
		ev(11, 8, sfntypes.HistoryEventTypeTaskSucceeded, s(113), ""),
		ev(12, 11, sfntypes.HistoryEventTypeTaskStateExited, s(114), "A"),
		ev(13, 12, sfntypes.HistoryEventTypeParallelStateExited, s(115), "P"),
		ev(14, 13, sfntypes.HistoryEventTypeExecutionSucceeded, s(120), ""),
	}
}

func TestStateAccumulator(t *testing.T) {
	a := newStateAcc()
	a.add(history(1))
	a.add(history(2))
	got := map[string]StateTime{}
	var order []string
	for _, s := range a.summary() {
		got[s.State] = s
		order = append(order, s.State)
	}
	// Nearest-rank p50 of two values is the smaller, p95 the larger.
	want := map[string]StateTime{
		"A":            {State: "A", Count: 2, TotalP50: 112, TotalP95: 224, QueueP50: 10, QueueP95: 20, RunP50: 100, RunP95: 200},
		"B":            {State: "B", Count: 2, TotalP50: 23, TotalP95: 46, QueueP50: 1, QueueP95: 2, RunP50: 20, RunP95: 40},
		"P":            {State: "P", Count: 2, TotalP50: 114, TotalP95: 228},
		ExecutionState: {State: ExecutionState, Count: 2, TotalP50: 120, TotalP95: 240},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	if strings.Join(order, ",") != "B,A,P,"+ExecutionState {
		t.Errorf("order = %v (by first exit)", order)
	}
}

// fakeSFN speaks the Step Functions JSON protocol for ListExecutions,
// DescribeExecution and GetExecutionHistory.
func fakeSFN(t *testing.T) *httptest.Server {
	execs := []map[string]any{
		{"executionArn": "arn:e3", "status": "RUNNING", "startDate": float64(t0.Add(3 * time.Second).Unix())},
		{"executionArn": "arn:e2", "status": "FAILED", "startDate": float64(t0.Add(2 * time.Second).Unix())},
		{"executionArn": "arn:e1", "status": "SUCCEEDED", "startDate": float64(t0.Add(1 * time.Second).Unix())},
		{"executionArn": "arn:old", "status": "SUCCEEDED", "startDate": float64(t0.Add(-time.Hour).Unix())},
	}
	keys := map[string]string{"arn:e1": "upload/a.jpg", "arn:e2": "upload/b.jpg", "arn:e3": "upload/c.jpg", "arn:old": "upload/a.jpg"}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		switch r.Header.Get("X-Amz-Target") {
		case "AWSStepFunctions.ListExecutions":
			_ = json.NewEncoder(w).Encode(map[string]any{"executions": execs})
		case "AWSStepFunctions.DescribeExecution":
			arn, _ := in["executionArn"].(string)
			input := `{"detail":{"bucket":{"name":"images"},"object":{"key":"` + keys[arn] + `"}}}`
			_ = json.NewEncoder(w).Encode(map[string]any{"executionArn": arn, "status": "SUCCEEDED", "input": input, "startDate": 0, "stateMachineArn": "arn:sm"})
		case "AWSStepFunctions.GetExecutionHistory":
			var events []map[string]any
			for _, e := range history(1) {
				m := map[string]any{"id": e.Id, "previousEventId": e.PreviousEventId, "type": string(e.Type), "timestamp": float64(e.Timestamp.UnixMilli()) / 1000}
				if e.StateEnteredEventDetails != nil {
					m["stateEnteredEventDetails"] = map[string]any{"name": *e.StateEnteredEventDetails.Name}
				}
				if e.StateExitedEventDetails != nil {
					m["stateExitedEventDetails"] = map[string]any{"name": *e.StateExitedEventDetails.Name}
				}
				events = append(events, m)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"events": events})
		default:
			t.Errorf("unexpected target %q", r.Header.Get("X-Amz-Target"))
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
}

func sfnClient(url string) *sfn.Client {
	return sfn.New(sfn.Options{BaseEndpoint: aws.String(url), Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

func TestSFNChecker(t *testing.T) {
	srv := fakeSFN(t)
	defer srv.Close()
	c := &SFNChecker{Client: sfnClient(srv.URL), StateMachineArn: "arn:sm", Since: t0}
	got, err := c.Poll(context.Background(), "images", []string{"upload/a.jpg", "upload/b.jpg", "upload/c.jpg", "upload/z.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"upload/a.jpg": {}, "upload/b.jpg": {Failed: true, Reason: "execution FAILED"}}
	if len(got) != len(want) || got["upload/a.jpg"] != want["upload/a.jpg"] || got["upload/b.jpg"] != want["upload/b.jpg"] {
		t.Errorf("Poll = %+v, want %+v", got, want)
	}
	if _, described := c.byArn["arn:old"]; described {
		t.Error("an execution from before the run was described")
	}
}

func TestStateTimesOverAPI(t *testing.T) {
	srv := fakeSFN(t)
	defer srv.Close()
	st, err := StateTimes(context.Background(), sfnClient(srv.URL), "arn:sm", t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var exec StateTime
	for _, s := range st {
		if s.State == ExecutionState {
			exec = s
		}
	}
	// e1 and e2 are finished and in the window; e3 is running, the old one too old.
	if exec.Count != 2 || exec.TotalP50 != 120 {
		t.Errorf("execution = %+v (all: %+v)", exec, st)
	}
}
