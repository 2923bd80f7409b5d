package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/imagepipe/imagepipe/local/asl"
)

// chattyEngine emits ExecutionStarted and n state events, reports that it did on
// emitted, waits for release, then succeeds.
type chattyEngine struct {
	n       int
	emitted chan struct{}
	release chan struct{}
}

func (c *chattyEngine) validate(string) error { return nil }

func (c *chattyEngine) run(ctx context.Context, spec runSpec, emit func(asl.HistoryEvent)) (string, []byte, error) {
	now := time.Unix(1700000000, 0)
	emit(asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionStarted, ID: 1, ExecutionStartedEventDetails: &asl.ExecutionStartedEventDetails{Input: spec.Input}})
	for i := range c.n {
		id := int64(i + 2)
		emit(asl.HistoryEvent{Timestamp: now, Type: "PassStateEntered", ID: id, PreviousEventID: id - 1, StateEnteredEventDetails: &asl.StateEnteredEventDetails{Name: fmt.Sprint("P", i)}})
	}
	c.emitted <- struct{}{}
	select {
	case <-c.release:
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
	id := int64(c.n + 2)
	emit(asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionSucceeded, ID: id, PreviousEventID: id - 1, ExecutionSucceededEventDetails: &asl.ExecutionSucceededEventDetails{Output: "{}"}})
	return "{}", nil, nil
}

// historyIDs pages through GetExecutionHistory with small pages and returns the ids.
func historyIDs(t *testing.T, c *sdk.Client, arn string, reverse bool) []int64 {
	t.Helper()
	var ids []int64
	p := sdk.NewGetExecutionHistoryPaginator(c, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 7, ReverseOrder: reverse})
	for p.HasMorePages() {
		page, err := p.NextPage(waitCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			ids = append(ids, ev.Id)
		}
	}
	return ids
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// A running execution's events are served while they are still in memory (and after
// the bulk flush of the first flushEvents), with pagination in both directions; the
// finished execution's full history is in the store.
func TestRunningHistoryFromMemory(t *testing.T) {
	n := flushEvents + 40
	eng := &chattyEngine{n: n, emitted: make(chan struct{}), release: make(chan struct{})}
	svc := openTest(t, testPath(t), eng, 1)
	defer closeNow(t, svc)
	c := sdkClient(t, svc)
	ex, err := svc.Start(context.Background(), StateMachineARN("sm"), "talk", "{}")
	if err != nil {
		t.Fatal(err)
	}
	<-eng.emitted
	last := int64(n + 1)
	if got := historyIDs(t, c, ex.ARN, false); !slices.Equal(got, seq(1, last)) {
		t.Fatalf("running history ids %v, want 1..%d", got, last)
	}
	rev := seq(1, last)
	slices.Reverse(rev)
	if got := historyIDs(t, c, ex.ARN, true); !slices.Equal(got, rev) {
		t.Fatalf("running history reversed %v", got)
	}
	if stored := len(history(t, svc, ex.ARN)); stored != 1+flushEvents {
		t.Fatalf("%d events stored while running, want ExecutionStarted + one flush of %d", stored, flushEvents)
	}
	close(eng.release)
	if done, err := svc.WaitFor(waitCtx(t), ex.ARN); err != nil || done.Status != StatusSucceeded {
		t.Fatalf("%+v %v", done, err)
	}
	evs := history(t, svc, ex.ARN)
	for i, e := range evs {
		if id := int64(e["id"].(float64)); id != int64(i+1) {
			t.Fatalf("stored history %d: id %d", i, id)
		}
	}
	if len(evs) != n+2 || evs[len(evs)-1]["type"] != "ExecutionSucceeded" {
		t.Fatalf("stored history after finish: %d events, last %v", len(evs), evs[len(evs)-1]["type"])
	}
}

func TestPageEvents(t *testing.T) {
	var all []storedEvent
	for id := int64(1); id <= 5; id++ {
		all = append(all, storedEvent{id, []byte(fmt.Sprint(id))})
	}
	ids := func(list []json.RawMessage) string { return fmt.Sprint(list) }
	for _, c := range []struct {
		from    int64
		reverse bool
		limit   int
		want    string
		next    int64
	}{
		{1, false, 2, "[49 50]", 3}, // json.RawMessage prints its bytes: "1" is 49
		{4, false, 5, "[52 53]", 0},
		{9, false, 5, "[]", 0},
		{0, true, 2, "[53 52]", 3},
		{3, true, 5, "[51 50 49]", 0},
		{9, true, 1, "[53]", 4},
	} {
		list, next := pageEvents(all, c.from, c.reverse, c.limit)
		got := "["
		for i, ev := range list {
			if i > 0 {
				got += " "
			}
			got += fmt.Sprint(ev[0])
		}
		got += "]"
		if got != c.want || next != c.next {
			t.Errorf("pageEvents(from %d, reverse %v, limit %d) = %s next %d, want %s next %d (%s)", c.from, c.reverse, c.limit, got, next, c.want, c.next, ids(list))
		}
	}
}
