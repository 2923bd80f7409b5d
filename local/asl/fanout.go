package asl

import (
	"context"
	"errors"
	"sync"
)

// siblingFailed is the cause a Parallel or Map cancels its other branches with: at
// is the failing branch's last event, which the aborted states' events follow.
type siblingFailed struct{ at int64 }

func (s *siblingFailed) Error() string { return errSiblingFailed.Error() }
func (s *siblingFailed) Unwrap() error { return errSiblingFailed }

// failedAt is the event the branches aborted by a sibling's failure follow.
func failedAt(ctx context.Context, fallback int64) int64 {
	var sf *siblingFailed
	if errors.As(context.Cause(ctx), &sf) {
		return sf.at
	}
	return fallback
}

// branchResult is what one branch or iteration ended with.
type branchResult struct {
	out  any
	last int64 // its last event: the previous event of what follows it
	err  error
}

// fanOut runs n jobs with at most limit at once (0: all). At the first state error it
// cancels the others with siblingFailed. It returns every job's result, and the index
// of the failed job (-1 when none failed).
func (e *execution) fanOut(ctx context.Context, n, limit int, job func(context.Context, int, func(last int64)) branchResult) ([]branchResult, int) {
	results := make([]branchResult, n)
	if n == 0 {
		return results, -1
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if limit <= 0 || limit > n {
		limit = n
	}
	sem := make(chan struct{}, limit)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = -1
	)
	// onFail runs inside the failing job before its last event is final, so that the
	// failure is recorded before the siblings' aborted events.
	onFail := func(i int) func(int64) {
		return func(last int64) {
			mu.Lock()
			defer mu.Unlock()
			if failed < 0 {
				failed = i
				cancel(&siblingFailed{at: last})
			}
		}
	}
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-cctx.Done():
		}
		if cctx.Err() != nil {
			for ; i < n; i++ {
				results[i].err = context.Cause(cctx)
			}
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = job(cctx, i, onFail(i))
		}(i)
	}
	wg.Wait()
	return results, failed
}

func (e *execution) runParallel(ctx context.Context, st *state, env *evalEnv, v *visit) (any, error) {
	prev := v.prev
	in, err := e.effectiveInput(st, env)
	if err != nil {
		return nil, err
	}
	started := e.emit(prev, HistoryEvent{Type: "ParallelStateStarted"})
	results, failed := e.fanOut(ctx, len(st.branches), 0, func(ctx context.Context, i int, fail func(int64)) branchResult {
		if kept, ok := v.kept(i); ok {
			return branchResult{out: kept, last: started}
		}
		bprev := started
		out, err := e.runMachine(ctx, st.branches[i], in, &bprev, v.resumeAt(i), v.vars.child())
		if isStateError(err) {
			fail(bprev)
		}
		return branchResult{out: out, last: bprev, err: err}
	})
	if err := e.stopped(ctx); err != nil {
		v.stop = branchPoints(results)
		return nil, err
	}
	if failed >= 0 {
		v.stop = branchPoints(results)
		*prev = results[failed].last
		e.emit(prev, HistoryEvent{Type: "ParallelStateFailed"})
		return nil, results[failed].err
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r.out
		*prev = max(*prev, r.last)
	}
	e.emitAfter(*prev, HistoryEvent{Type: "ParallelStateSucceeded"})
	return out, nil
}

// stopped reports the execution's own end (abort or timeout) after a fan-out.
func (e *execution) stopped(ctx context.Context) error {
	if ctx.Err() != nil || (!e.deadline.IsZero() && !e.clock.Now().Before(e.deadline)) {
		return e.alive(ctx)
	}
	return nil
}

func (e *execution) runMap(ctx context.Context, st *state, env *evalEnv, v *visit) (any, error) {
	prev := v.prev
	inputs, conc, err := e.mapInputs(st, env)
	if err != nil {
		return nil, err
	}
	started := e.emit(prev, HistoryEvent{Type: "MapStateStarted", MapStateStartedEventDetails: &MapStateStartedEventDetails{Length: len(inputs)}})
	var mu sync.Mutex
	lastDone := started // an iteration starts after the last one that finished
	results, failed := e.fanOut(ctx, len(inputs), conc, func(ctx context.Context, i int, fail func(int64)) branchResult {
		if kept, ok := v.kept(i); ok {
			return branchResult{out: kept, last: started}
		}
		mu.Lock()
		iprev := lastDone
		mu.Unlock()
		d := &MapIterationEventDetails{Name: st.name, Index: i}
		e.emit(&iprev, HistoryEvent{Type: "MapIterationStarted", MapIterationStartedEventDetails: d})
		out, err := e.runMachine(ctx, st.branches[0], inputs[i], &iprev, v.resumeAt(i), v.vars.child())
		r := branchResult{out: out, last: iprev, err: err}
		switch {
		case err == nil:
			r.last = e.emitAfter(iprev, HistoryEvent{Type: "MapIterationSucceeded", MapIterationSucceededEventDetails: d})
			mu.Lock()
			lastDone = max(lastDone, iprev)
			mu.Unlock()
		case isStateError(err):
			fail(iprev)
			e.emitAfter(iprev, HistoryEvent{Type: "MapIterationFailed", MapIterationFailedEventDetails: d})
		default:
			e.emitAfter(failedAt(ctx, iprev), HistoryEvent{Type: "MapIterationAborted", MapIterationAbortedEventDetails: d})
		}
		return r
	})
	if err := e.stopped(ctx); err != nil {
		v.stop = branchPoints(results)
		return nil, err
	}
	if failed >= 0 {
		v.stop = branchPoints(results)
		*prev = results[failed].last
		e.emit(prev, HistoryEvent{Type: "MapStateFailed"})
		return nil, results[failed].err
	}
	out := make([]any, len(results))
	for i, r := range results {
		out[i] = r.out
		*prev = max(*prev, r.last)
	}
	e.emitAfter(*prev, HistoryEvent{Type: "MapStateSucceeded"})
	return out, nil
}

// mapInputs selects the items and applies ItemSelector to each; conc is the
// MaxConcurrency in force.
func (e *execution) mapInputs(st *state, env *evalEnv) ([]any, int, error) {
	in := env.input
	itemsV, err := applyPath(in, st.itemsPath)
	if st.items != nil {
		itemsV, err = st.items.eval(env, "Items")
	}
	if err != nil {
		return nil, 0, err
	}
	items, ok := itemsV.([]any)
	switch {
	case !ok && st.items != nil && st.items.kind == tmplJSONata:
		return nil, 0, queryError(st.items.x, "Items", "returned an unsupported result type.")
	case !ok:
		return nil, 0, runtimeError("Map state input must be an array, not %s", typeName(itemsV))
	}
	conc := st.maxConcurrency
	if st.maxConcPath != nil {
		v, err := env.path(st.maxConcPath)
		n, ok := toInt(v)
		if err != nil || !ok || n < 0 {
			return nil, 0, runtimeError("The MaxConcurrencyPath field refers to value \"%s\" which is not a valid integer: %s", encodeString(v), st.maxConcPath.raw)
		}
		conc = int(n)
	}
	inputs := make([]any, len(items))
	for i, item := range items {
		inputs[i] = item
		if st.itemSelector == nil {
			continue
		}
		c := env.ctx.(*object).clone()
		c.set("Map", objectOf("Item", objectOf("Index", intNumber(int64(i)), "Value", item)))
		v, err := st.itemSelector.eval(&evalEnv{input: in, ctx: c, rand: e.rand, vars: env.vars, stateInput: env.stateInput}, "ItemSelector")
		if err != nil {
			return nil, 0, err
		}
		inputs[i] = v
	}
	return inputs, conc, nil
}
