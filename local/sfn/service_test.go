package sfn

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
)

func TestStartRunsToSuccessWithRenumberedHistory(t *testing.T) {
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) { return `{"ok":true}`, nil }}
	svc := openTest(t, testPath(t), eng, 2)
	defer closeNow(t, svc)
	ex, err := svc.Start(context.Background(), StateMachineARN("sm"), "first", `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if ex.ARN != "arn:aws:states:us-east-1:000000000000:execution:sm:first" || ex.Status != StatusRunning {
		t.Fatalf("start: %+v", ex)
	}
	done, err := svc.WaitFor(waitCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusSucceeded || done.StopDate.IsZero() {
		t.Fatalf("finished: %+v", done)
	}
	_, in, out, _ := svc.Describe(context.Background(), ex.ARN)
	if in != `{"a":1}` || out != `{"ok":true}` {
		t.Fatalf("input %s output %s", in, out)
	}
	got := eventTypes(history(t, svc, ex.ARN))
	want := "ExecutionStarted:1<0,PassStateEntered:2<1,PassStateExited:3<2,ExecutionSucceeded:4<3"
	if got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
}

func TestFailureRecordsErrorAndCause(t *testing.T) {
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		return "", &asl.ExecutionError{Name: "NotAnImageError", Cause: `{"errorMessage":"x","errorType":"NotAnImageError"}`}
	}}
	svc := openTest(t, testPath(t), eng, 1)
	defer closeNow(t, svc)
	ex, err := svc.Start(context.Background(), StateMachineARN("sm"), "", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(waitCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != StatusFailed || done.Error != "NotAnImageError" || done.Cause == "" {
		t.Fatalf("%+v", done)
	}
	evs := history(t, svc, ex.ARN)
	last := evs[len(evs)-1]
	if last["type"] != "ExecutionFailed" || last["executionFailedEventDetails"].(map[string]any)["error"] != "NotAnImageError" {
		t.Fatalf("last event %v", last)
	}
}

func TestStartValidationAndIdempotency(t *testing.T) {
	release := make(chan struct{})
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "{}", nil
	}}
	svc := openTest(t, testPath(t), eng, 1)
	defer closeNow(t, svc)
	ctx := context.Background()
	sm := StateMachineARN("sm")
	for _, tc := range []struct{ sm, name, input, want string }{
		{"arn:aws:states:us-east-1:000000000000:stateMachine", "n", "{}", "InvalidArn"},
		{"nonsense", "n", "{}", "InvalidArn"},
		{StateMachineARN("missing"), "n", "{}", "StateMachineDoesNotExist"},
		{sm, "has space", "{}", "InvalidName"},
		{sm, "a/b", "{}", "InvalidName"},
		{sm, "x*", "{}", "InvalidName"},
		{sm, "ctl\x01", "{}", "InvalidName"},
		{sm, string(make([]byte, 81)), "{}", "InvalidName"},
		{sm, "ok", "{not json", "InvalidExecutionInput"},
	} {
		_, err := svc.Start(ctx, tc.sm, tc.name, tc.input)
		if !IsErrorType(err, tc.want) {
			t.Errorf("Start(%q, %q, %q) = %v, want %s", tc.sm, tc.name, tc.input, err, tc.want)
		}
	}
	a, err := svc.Start(ctx, sm, "dup", `{"k":1}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Start(ctx, sm, "dup", `{"k":1}`)
	if err != nil || b.ARN != a.ARN || !b.StartDate.Equal(a.StartDate) {
		t.Fatalf("idempotent start: %+v %v (first %+v)", b, err, a)
	}
	if _, err := svc.Start(ctx, sm, "dup", `{"k":2}`); !IsErrorType(err, "ExecutionAlreadyExists") {
		t.Fatalf("different input: %v", err)
	}
	close(release)
	if _, err := svc.WaitFor(waitCtx(t), a.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, sm, "dup", `{"k":1}`); !IsErrorType(err, "ExecutionAlreadyExists") {
		t.Fatalf("closed execution: %v", err)
	}
	if n := eng.count(a.ARN); n != 1 {
		t.Fatalf("ran %d times", n)
	}
}

func TestBoundedPool(t *testing.T) {
	const workers = 3
	var cur, peak atomic.Int64
	entered := make(chan struct{}, 100)
	release := make(chan struct{})
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		cur.Add(-1)
		return "{}", nil
	}}
	svc := openTest(t, testPath(t), eng, workers)
	defer closeNow(t, svc)
	var arns []string
	for i := range 10 * workers {
		ex, err := svc.Start(context.Background(), StateMachineARN("sm"), fmt.Sprintf("e%d", i), `{}`)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, ex.ARN)
	}
	ctx := waitCtx(t)
	for range workers {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("workers did not start")
		}
	}
	close(release)
	for _, arn := range arns {
		ex, err := svc.WaitFor(ctx, arn)
		if err != nil || ex.Status != StatusSucceeded {
			t.Fatalf("%s: %+v %v", arn, ex, err)
		}
		if n := eng.count(arn); n != 1 {
			t.Fatalf("%s ran %d times", arn, n)
		}
	}
	if p := peak.Load(); p != workers {
		t.Fatalf("peak concurrency %d, want exactly %d", p, workers)
	}
}

// TestCloseLeavesRunningAndReopenReruns is the SIGTERM path: running executions that
// do not finish before the deadline are left RUNNING and run exactly once after Open.
func TestCloseLeavesRunningAndReopenReruns(t *testing.T) {
	path := testPath(t)
	entered := make(chan string, 10)
	blocking := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		entered <- spec.Execution.ARN
		<-ctx.Done()
		return "", ctx.Err()
	}}
	svc := openTest(t, path, blocking, 2)
	var arns []string
	for i := range 5 {
		ex, err := svc.Start(context.Background(), StateMachineARN("sm"), fmt.Sprintf("r%d", i), fmt.Sprintf(`{"i":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, ex.ARN)
	}
	ctx := waitCtx(t)
	for range 2 {
		select {
		case <-entered:
		case <-ctx.Done():
			t.Fatal("no execution started")
		}
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := svc.Close(expired); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(context.Background(), StateMachineARN("sm"), "late", "{}"); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}

	counting := &fakeEngine{}
	svc2, err := Open(path, Options{Workers: 2, Logger: quietLogger(), engine: counting})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc2)
	svc2.Resume(ctx)
	for _, arn := range arns {
		ex, err := svc2.WaitFor(ctx, arn)
		if err != nil || ex.Status != StatusSucceeded {
			t.Fatalf("%s: %+v %v", arn, ex, err)
		}
		if n := counting.count(arn); n != 1 {
			t.Fatalf("%s re-ran %d times", arn, n)
		}
		got := eventTypes(history(t, svc2, arn))
		if want := "ExecutionStarted:1<0,PassStateEntered:2<1,PassStateExited:3<2,ExecutionSucceeded:4<3"; got != want {
			t.Fatalf("history after recovery\n got %s\nwant %s", got, want)
		}
	}
}

// TestRecoveryFromCrashRecords simulates kill -9: the file holds RUNNING executions
// with partial history and nothing else (no Close ran).
func TestRecoveryFromCrashRecords(t *testing.T) {
	path := testPath(t)
	st, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0).UTC()
	var arns []string
	err = st.update(func(tx *txn) error {
		if err := tx.putStateMachine(&StateMachine{ARN: StateMachineARN("sm"), Name: "sm", Definition: "{}", Type: "STANDARD", CreationDate: now}); err != nil {
			return err
		}
		for i := range 4 {
			ex := &Execution{ARN: ExecutionARN("sm", fmt.Sprint("c", i)), StateMachineARN: StateMachineARN("sm"), StateMachine: "sm", Name: fmt.Sprint("c", i), Status: StatusRunning, StartDate: now, RunStart: 1}
			arns = append(arns, ex.ARN)
			if err := tx.putExecution(ex); err != nil {
				return err
			}
			if err := tx.putData(ex.ARN, 'i', "{}"); err != nil {
				return err
			}
			for id := int64(1); id <= int64(i+1); id++ {
				if err := tx.putEvent(ex.ARN, id, eventJSON(now, "Partial", id, id-1, "x", map[string]any{})); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Leave the file as a crash would: no further writes. bbolt needs its lock released.
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{}
	svc, err := Open(path, Options{Workers: 2, Logger: quietLogger(), engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	defer closeNow(t, svc)
	for _, arn := range arns {
		if n := eng.count(arn); n != 0 {
			t.Fatalf("%s ran before Resume", arn)
		}
	}
	svc.Resume(context.Background())
	for _, arn := range arns {
		ex, err := svc.WaitFor(waitCtx(t), arn)
		if err != nil || ex.Status != StatusSucceeded {
			t.Fatalf("%s: %+v %v", arn, ex, err)
		}
		if n := eng.count(arn); n != 1 {
			t.Fatalf("%s ran %d times", arn, n)
		}
		evs := history(t, svc, arn)
		if len(evs) != 4 || evs[0]["type"] != "Partial" || evs[1]["type"] != "PassStateEntered" {
			t.Fatalf("%s: partial history not replaced: %s", arn, eventTypes(evs))
		}
	}
}

func TestStopRunningAndQueued(t *testing.T) {
	entered := make(chan struct{}, 1)
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return "", ctx.Err()
	}}
	svc := openTest(t, testPath(t), eng, 1)
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	a, _ := svc.Start(ctx, StateMachineARN("sm"), "a", "{}")
	b, _ := svc.Start(ctx, StateMachineARN("sm"), "b", "{}") // queued behind a
	<-entered
	if _, err := svc.Stop(ctx, b.ARN, "", ""); err != nil {
		t.Fatal(err)
	}
	stop, err := svc.Stop(ctx, a.ARN, "Manual", "by test")
	if err != nil {
		t.Fatal(err)
	}
	ex, _, _, _ := svc.Describe(ctx, a.ARN)
	if ex.Status != StatusAborted || ex.Error != "Manual" || ex.Cause != "by test" || !ex.StopDate.Equal(stop) {
		t.Fatalf("a: %+v", ex)
	}
	if got, want := eventTypes(history(t, svc, a.ARN)), "ExecutionStarted:1<0,PassStateEntered:2<1,ExecutionAborted:3<2"; got != want {
		t.Fatalf("a history\n got %s\nwant %s", got, want)
	}
	if got, want := eventTypes(history(t, svc, b.ARN)), "ExecutionStarted:1<0,ExecutionAborted:2<1"; got != want {
		t.Fatalf("b history\n got %s\nwant %s", got, want)
	}
	// Stopping again is a no-op returning the same date; b never ran.
	stop2, err := svc.Stop(ctx, a.ARN, "", "")
	if err != nil || !stop2.Equal(stop) {
		t.Fatalf("second stop: %v %v", stop2, err)
	}
	// A later execution still runs: the worker came free.
	c, _ := svc.Start(ctx, StateMachineARN("sm"), "c", "{}")
	<-entered
	if _, err := svc.Stop(ctx, c.ARN, "", ""); err != nil {
		t.Fatal(err)
	}
	if n := eng.count(b.ARN); n != 0 {
		t.Fatalf("stopped queued execution ran %d times", n)
	}
	if _, err := svc.Stop(ctx, ExecutionARN("sm", "nope"), "", ""); !IsErrorType(err, "ExecutionDoesNotExist") {
		t.Fatalf("stop missing: %v", err)
	}
}

func TestRedrive(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	eng := &fakeEngine{fn: func(ctx context.Context, spec runSpec) (string, error) {
		if fail.Load() {
			return "", &asl.ExecutionError{Name: "TransientError", Cause: "boom"}
		}
		return `{"n":1}`, nil
	}}
	svc := openTest(t, testPath(t), eng, 1)
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	ex, _ := svc.Start(ctx, StateMachineARN("sm"), "rd", "{}")
	if _, err := svc.Redrive(ctx, ex.ARN); err != nil && !IsErrorType(err, "ExecutionNotRedrivable") {
		t.Fatalf("redrive running: %v", err)
	}
	if done, _ := svc.WaitFor(ctx, ex.ARN); done.Status != StatusFailed {
		t.Fatalf("%+v", done)
	}
	fail.Store(false)
	if _, err := svc.Redrive(ctx, ex.ARN); err != nil {
		t.Fatal(err)
	}
	done, err := svc.WaitFor(ctx, ex.ARN)
	if err != nil || done.Status != StatusSucceeded || done.RedriveCount != 1 || done.RedriveDate.IsZero() || done.Error != "" {
		t.Fatalf("%+v %v", done, err)
	}
	got := eventTypes(history(t, svc, ex.ARN))
	want := "ExecutionStarted:1<0,PassStateEntered:2<1,ExecutionFailed:3<2,ExecutionRedriven:4<3,PassStateEntered:5<4,PassStateExited:6<5,ExecutionSucceeded:7<6"
	if got != want {
		t.Fatalf("history\n got %s\nwant %s", got, want)
	}
	if _, err := svc.Redrive(ctx, ex.ARN); !IsErrorType(err, "ExecutionNotRedrivable") {
		t.Fatalf("redrive succeeded execution: %v", err)
	}
}

func TestWaitForConcurrentStarts(t *testing.T) {
	svc := openTest(t, testPath(t), &fakeEngine{}, 4)
	defer closeNow(t, svc)
	ctx := waitCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			ex, err := svc.Start(ctx, StateMachineARN("sm"), "", "{}")
			if err == nil {
				_, err = svc.WaitFor(ctx, ex.ARN)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
