package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestStoreRoundTrip(t *testing.T) {
	path := testPath(t)
	st, err := openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 6, 1, 10, 0, 0, 123e6, time.UTC)
	sm := &StateMachine{ARN: StateMachineARN("sm"), Name: "sm", Definition: `{"StartAt":"x"}`, RoleARN: "role", Type: "STANDARD", CreationDate: now}
	err = st.update(func(tx *txn) error {
		if err := tx.putStateMachine(sm); err != nil {
			return err
		}
		for i := range 5 {
			ex := &Execution{ARN: ExecutionARN("sm", fmt.Sprint("e", i)), StateMachineARN: sm.ARN, StateMachine: "sm", Name: fmt.Sprint("e", i), Status: StatusRunning, StartDate: now, RunStart: 1}
			if err := tx.putExecution(ex); err != nil {
				return err
			}
			if err := tx.putData(ex.ARN, 'i', fmt.Sprintf(`{"i":%d}`, i)); err != nil {
				return err
			}
			for id := int64(1); id <= 3; id++ {
				if err := tx.putEvent(ex.ARN, id, eventJSON(now, "T", id, id-1, "d", map[string]int{"n": int(id)})); err != nil {
					return err
				}
			}
		}
		// e1 finishes, e3 fails: the status indexes move.
		for i, status := range map[int]string{1: StatusSucceeded, 3: StatusFailed} {
			ex, err := tx.execution(ExecutionARN("sm", fmt.Sprint("e", i)))
			if err != nil {
				return err
			}
			ex.Status, ex.StopDate, ex.Error = status, now.Add(time.Second), "E"
			if err := tx.putExecution(ex); err != nil {
				return err
			}
		}
		return tx.truncateHistory(ExecutionARN("sm", "e4"), 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}

	st, err = openStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	err = st.view(func(tx *txn) error {
		got, err := tx.stateMachine("sm")
		if err != nil || got.Definition != sm.Definition || !got.CreationDate.Equal(now) || got.RoleARN != "role" {
			t.Errorf("state machine %+v %v", got, err)
		}
		names := func(list []Execution) string {
			s := ""
			for _, e := range list {
				s += e.Name + "/" + e.Status + " "
			}
			return s
		}
		all, next, err := tx.executionsNewestFirst("sm", "", 0, 3)
		if err != nil || names(all) != "e4/RUNNING e3/FAILED e2/RUNNING " || next == 0 {
			t.Errorf("page 1: %s next %d %v", names(all), next, err)
		}
		rest, next, _ := tx.executionsNewestFirst("sm", "", next, 3)
		if names(rest) != "e1/SUCCEEDED e0/RUNNING " || next != 0 {
			t.Errorf("page 2: %s next %d", names(rest), next)
		}
		running, _, _ := tx.executionsNewestFirst("sm", StatusRunning, 0, 10)
		if names(running) != "e4/RUNNING e2/RUNNING e0/RUNNING " {
			t.Errorf("running: %s", names(running))
		}
		if other, _, _ := tx.executionsNewestFirst("s", "", 0, 10); len(other) != 0 {
			t.Errorf("prefix leak: %s", names(other))
		}
		if got := fmt.Sprint(tx.unfinished()); got != fmt.Sprint([]string{ExecutionARN("sm", "e0"), ExecutionARN("sm", "e2"), ExecutionARN("sm", "e4")}) {
			t.Errorf("unfinished %s", got)
		}
		e3, _ := tx.execution(ExecutionARN("sm", "e3"))
		if e3.Error != "E" || !e3.StopDate.Equal(now.Add(time.Second)) {
			t.Errorf("e3 %+v", e3)
		}
		if in := tx.data(ExecutionARN("sm", "e2"), 'i'); in != `{"i":2}` {
			t.Errorf("input %s", in)
		}
		evs, hnext := tx.events(ExecutionARN("sm", "e0"), 1, false, 2)
		if len(evs) != 2 || hnext != 3 {
			t.Errorf("events page: %d next %d", len(evs), hnext)
		}
		evs, hnext = tx.events(ExecutionARN("sm", "e0"), 0, true, 10)
		var first map[string]any
		_ = json.Unmarshal(evs[0], &first)
		if len(evs) != 3 || hnext != 0 || first["id"] != 3.0 || first["timestamp"] != 1717236000.123 {
			t.Errorf("reverse events: %d next %d first %v", len(evs), hnext, first)
		}
		if n := tx.lastEventID(ExecutionARN("sm", "e4")); n != 1 {
			t.Errorf("truncated history ends at %d", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzParseARNs(f *testing.F) {
	f.Add(StateMachineARN("sm"))
	f.Add(ExecutionARN("sm", "x"))
	f.Add("arn:aws:states:eu-west-1:1:execution:a:b")
	f.Add("arn:::::::")
	f.Fuzz(func(t *testing.T, arn string) {
		if name, found, err := parseStateMachineARN(arn); err == nil && found {
			if StateMachineARN(name) != arn {
				t.Fatalf("%q → %q does not round-trip", arn, name)
			}
		}
		if sm, name, found, err := parseExecutionARN(arn); err == nil && found {
			if ExecutionARN(sm, name) != arn {
				t.Fatalf("%q → %q %q does not round-trip", arn, sm, name)
			}
		}
		if validName(arn) == nil {
			for _, r := range arn {
				if r == ':' || r == '/' || r == ' ' || r < 0x20 {
					t.Fatalf("valid name %q contains %q", arn, r)
				}
			}
		}
	})
}

func FuzzPagingTokens(f *testing.F) {
	f.Add("exRUNNING", "")
	f.Add("h", *makeToken("h", []byte{0, 0, 0, 0, 0, 0, 0, 9}))
	f.Add("sm", "!!!")
	f.Fuzz(func(t *testing.T, kind, token string) {
		seq, err := readSeqToken(kind, token)
		if err != nil {
			if !IsErrorType(err, "InvalidToken") {
				t.Fatalf("%v", err)
			}
			return
		}
		if token != "" {
			again, err := readSeqToken(kind, *makeToken(kind, idKey(int64(seq))))
			if err != nil || again != seq {
				t.Fatalf("token round trip %d → %d %v", seq, again, err)
			}
		}
	})
}

// BenchmarkStartToFinish measures accepted-and-finished executions per second with a
// trivial engine: the cost of durability (two commits per execution plus history).
func BenchmarkStartToFinish(b *testing.B) {
	svc, err := Open(b.TempDir()+"/sfn.db", Options{Logger: quietLogger(), engine: &fakeEngine{}})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close(context.Background())
	if _, err := svc.CreateStateMachine("sm", "{}", ""); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetParallelism(8) // many uploads in flight, as in a batch upload
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ex, err := svc.Start(ctx, StateMachineARN("sm"), "", `{"k":"v"}`)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.WaitFor(ctx, ex.ARN); err != nil {
				b.Fatal(err)
			}
		}
	})
}
