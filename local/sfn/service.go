package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/local/asl"
	"github.com/imagepipe/imagepipe/local/quota"
)

// Options configure a Service.
type Options struct {
	// Workers bounds the executions running at once (0: 2×GOMAXPROCS). Further starts
	// are accepted, recorded, and wait their turn in start order.
	Workers int
	Invoker asl.Invoker       // Lambda Task resources (asl.Functions, the twin's Lambda service)
	Queue   asl.MessageSender // arn:aws:states:::sqs:sendMessage (the twin's SQS queue)
	Clock   asl.Clock         // dates, Wait states, retry intervals (nil: asl.RealClock)
	Logger  *slog.Logger
	// CloseGrace bounds how long Close waits, once its context has ended, for
	// canceled executions to return before it closes the store anyway (0: 5s).
	CloseGrace time.Duration
	// StartExecutions is the account's StartExecution token bucket (nil: none): a
	// start past it is ThrottlingException, as the API answers it. Transitions is the
	// state-transition bucket (nil: none): past it the execution waits for a token,
	// as AWS delays throttled transitions (its ExecutionThrottled metric counts
	// "StateEntered events and retries that have been throttled"). Defaults for
	// Standard workflows in us-east-1: StartExecution 1,300 refilling 300/s,
	// StateTransition 5,000 refilling 5,000/s ("Step Functions service quotas",
	// https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html,
	// read 2026-11-29); see local/quota.
	StartExecutions, Transitions *quota.Bucket
	// ExpressDeliveries is how many times one asynchronous start of an EXPRESS state
	// machine runs (0 or 1: once). Express workflows run at least once ("Execution
	// guarantees": "Starting multiple workflows with the same name results in
	// concurrent executions"; state "doesn't persist between state transitions"),
	// https://docs.aws.amazon.com/step-functions/latest/dg/express-at-least-once-execution.html;
	// 2 makes the twin deliver every start twice, so that tests prove the pipeline
	// idempotent under it.
	ExpressDeliveries int

	engine engine // tests substitute a fake; nil: the asl engine
}

// engine runs one execution; the asl engine in production, fakes in tests.
type engine interface {
	validate(definition string) error
	// run executes spec. emit receives each history event (calls serialised), numbered
	// from spec.Execution.RunStart, the id of the run's first event, which the service
	// has stored already. A failed or timed-out execution returns *asl.ExecutionError.
	// checkpoint, for a run that did not succeed, is where it stopped (JSON; nil: from
	// the start), what a redrive resumes.
	run(ctx context.Context, spec runSpec, emit func(asl.HistoryEvent)) (output string, checkpoint []byte, err error)
}

type runSpec struct {
	// Redrive is the checkpoint a redriven run resumes at (nil: a first run, or a
	// redrive of an execution that stopped before its first state).
	Redrive      []byte
	Definition   string
	Input        string
	Execution    Execution
	RoleARN      string
	StateMachine string
	Invoker      asl.Invoker
	Queue        asl.MessageSender
	Clock        asl.Clock
	Tokens       *asl.TaskTokens
}

// Causes of a run's context cancellation.
var (
	errStopped  = errors.New("execution stopped")
	errShutdown = errors.New("service shutting down")
)

// Service is the twin's Step Functions: state machines, executions on a bounded
// worker pool, their history in a bbolt file, and the JSON 1.0 API over them.
type Service struct {
	st     *store
	tokens *asl.TaskTokens // callback tasks waiting for SendTask*
	opts   Options
	log    *slog.Logger
	eng    engine
	clock  asl.Clock

	base       context.Context // parent of every run; canceled with errShutdown by Close
	cancelBase context.CancelCauseFunc
	wg         sync.WaitGroup
	wake       chan struct{} // one token: "the queue may be non-empty"
	quit       chan struct{} // closed by Close: workers take no more work

	mu        sync.Mutex
	closed    bool
	queue     []string        // ARNs of accepted executions waiting for a worker
	recovered []string        // unfinished at Open; queued by Resume
	running   map[string]*run // executions a worker holds
	changed   chan struct{}   // closed and replaced on every status change
}

// run is one execution held by a worker.
type run struct {
	mu      sync.Mutex
	arn     string
	cancel  context.CancelCauseFunc
	ready   bool              // prepared: next is valid
	done    bool              // a terminal status is written; drop further events
	next    int64             // id of the next stored event
	final   *asl.HistoryEvent // the engine's terminal event, written with the status
	again   bool              // guarded by Service.mu: queued again while held
	express bool              // an EXPRESS run: its events are logged (prepare sets it)
	// pending holds the run's history events not yet in the store. They are written
	// with the outcome (finish, abort), or in bulk once there are flushEvents of them,
	// never one commit per event: a run that a crash interrupts re-runs from RunStart
	// and its partial history is discarded anyway, so syncing events one by one would
	// buy nothing but latency. GetExecutionHistory reads them from here meanwhile.
	pending []storedEvent
}

// storedEvent is one history event under its stored id.
type storedEvent struct {
	id    int64
	event []byte
}

// flushEvents bounds the history a run keeps in memory (a long Map or a retry loop).
const flushEvents = 256

// putEvents stores events in t.
func putEvents(t *txn, arn string, evs []storedEvent) error {
	for _, ev := range evs {
		if err := t.putEvent(arn, ev.id, ev.event); err != nil {
			return err
		}
	}
	return nil
}

// liveEvents returns a copy of the events a running execution holds in memory.
func (s *Service) liveEvents(arn string) []storedEvent {
	s.mu.Lock()
	r := s.running[arn]
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pending)
}

// Open opens (or creates) the store at path and starts the workers. Executions a
// previous process left RUNNING or PENDING_REDRIVE wait for Resume, so that the
// caller can first bring up what their tasks need.
func Open(path string, opts Options) (*Service, error) {
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CloseGrace <= 0 {
		opts.CloseGrace = 5 * time.Second
	}
	clock := opts.Clock
	if clock == nil {
		clock = asl.RealClock{}
	}
	eng := opts.engine
	if eng == nil {
		eng = newASLEngine()
	}
	st, err := openStore(path)
	if err != nil {
		return nil, err
	}
	var pending []string
	if err := st.view(func(t *txn) error { pending = t.unfinished(); return nil }); err != nil {
		_ = st.close()
		return nil, fmt.Errorf("read unfinished executions: %w", err)
	}
	base, cancel := context.WithCancelCause(context.Background())
	s := &Service{
		st: st, tokens: asl.NewTaskTokens(), opts: opts, log: opts.Logger, eng: eng, clock: clock,
		base: base, cancelBase: cancel,
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
		recovered: pending, running: map[string]*run{}, changed: make(chan struct{}),
	}
	for range opts.Workers {
		s.wg.Add(1)
		go s.worker()
	}
	return s, nil
}

// Resume queues the executions a previous process left unfinished, oldest first,
// ahead of anything started since Open. Each re-runs from the start of its current
// run: the partial history the interrupted run left is discarded, so the history
// reads as one clean run (ExecutionStarted or ExecutionRedriven, then the re-run's
// events); startDate and the execution's name and input are unchanged.
func (s *Service) Resume(ctx context.Context) {
	s.mu.Lock()
	rec := s.recovered
	s.recovered = nil
	if !s.closed && len(rec) > 0 {
		s.queue = append(rec, s.queue...)
	}
	s.mu.Unlock()
	if len(rec) > 0 {
		s.log.Info("step functions: re-running executions left unfinished", "count", len(rec))
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// CreateStateMachine creates the state machine called name, or updates its
// definition and role when it exists (the twin re-applies its definitions at every
// start). It returns the state machine's ARN.
func (s *Service) CreateStateMachine(name, definition, roleARN string) (string, error) {
	return s.CreateStateMachineOfType(name, TypeStandard, definition, roleARN)
}

// State machine types.
const (
	TypeStandard = "STANDARD"
	TypeExpress  = "EXPRESS"
)

// ExpressMaxDuration is the longest an Express execution runs ("Standard vs. Express
// Workflows": maximum duration 5 minutes); past it the execution times out, whatever
// the definition's TimeoutSeconds says.
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html
const ExpressMaxDuration = 5 * time.Minute

// CreateStateMachineOfType is CreateStateMachine for a STANDARD or EXPRESS machine.
func (s *Service) CreateStateMachineOfType(name, typ, definition, roleARN string) (string, error) {
	if typ != TypeStandard && typ != TypeExpress {
		return "", apiErr("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", typ)
	}
	if err := validName(name); err != nil {
		return "", apiErr("InvalidName", "Invalid Name: '%s': %v", name, err)
	}
	if err := s.eng.validate(definition); err != nil {
		return "", apiErr("InvalidDefinition", "Invalid State Machine Definition: '%v'", err)
	}
	sm := &StateMachine{ARN: StateMachineARN(name), Name: name, Definition: definition, RoleARN: roleARN, Type: typ, CreationDate: s.clock.Now().UTC()}
	err := s.st.update(func(t *txn) error {
		if old, err := t.stateMachine(name); err == nil {
			sm.CreationDate = old.CreationDate
		}
		return t.putStateMachine(sm)
	})
	if err != nil {
		return "", fmt.Errorf("create state machine %s: %w", name, err)
	}
	return sm.ARN, nil
}

// maxInput is the largest execution input Step Functions accepts (256 KiB).
const maxInput = 256 * 1024

// Start starts an execution of the state machine smARN (name "" means a generated
// UUID) and returns it once it is durable: a crash after Start returns cannot lose it.
// As AWS does, a second Start with the same name and input while the first is still
// running returns the first execution; otherwise a reused name is
// ExecutionAlreadyExists.
//
// An EXPRESS state machine's start is a new run every time (no name is reserved;
// the ARN gets a run id), runs Options.ExpressDeliveries times, and keeps no
// history an API can read: its events go to the log, as to CloudWatch Logs.
func (s *Service) Start(ctx context.Context, smARN, name, input string) (Execution, error) {
	if name == "" {
		name = newUUID()
	}
	return s.startAsync(ctx, smARN, name, input)
}

// startAsync is StartExecution: start, and for an EXPRESS machine the extra
// deliveries (StartSyncExecution, at most once, calls start alone).
func (s *Service) startAsync(ctx context.Context, smARN, name, input string) (Execution, error) {
	ex, err := s.start(ctx, smARN, name, input, true)
	if err != nil || !ex.Express {
		return ex, err
	}
	for i := 1; i < s.opts.ExpressDeliveries; i++ {
		again, err := s.start(ctx, smARN, name, input, false) // Step Functions' own repeat: no caller's quota
		if err != nil {
			// The caller's start succeeded; the extra delivery is the twin's own.
			s.log.Error("step functions: express duplicate delivery", "execution", ex.ARN, "err", err)
			break
		}
		s.log.Info("step functions: express start delivered again (at-least-once)", "execution", ex.ARN, "duplicate", again.ARN)
	}
	return ex, nil
}

// start records one execution; metered says the call counts against the
// StartExecution quota (a caller's start, not the service's own repeat).
func (s *Service) start(ctx context.Context, smARN, name, input string, metered bool) (Execution, error) {
	smName, found, err := parseStateMachineARN(smARN)
	if err != nil {
		return Execution{}, err
	}
	if !found {
		return Execution{}, apiErr("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", smARN)
	}
	if err := validName(name); err != nil {
		return Execution{}, apiErr("InvalidName", "Invalid Name: '%s': %v", name, err)
	}
	if input == "" {
		input = "{}"
	}
	if len(input) > maxInput {
		return Execution{}, apiErr("ValidationException", "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to %d", maxInput)
	}
	if !json.Valid([]byte(input)) {
		return Execution{}, apiErr("InvalidExecutionInput", "Invalid State Machine Execution Input: 'Unexpected input: not valid JSON'")
	}
	if s.isClosed() {
		return Execution{}, ErrClosed
	}
	if metered && !s.opts.StartExecutions.Allow() {
		s.log.Info("step functions: StartExecution throttled", "stateMachine", smARN, "name", name)
		return Execution{}, ErrThrottled
	}
	now := s.clock.Now().UTC()
	ex := Execution{
		StateMachineARN: smARN, StateMachine: smName,
		Name: name, Status: StatusRunning, StartDate: now, RunStart: 1,
	}
	runID := newUUID()
	var existing *Execution
	// A batch: concurrent starts (a burst of uploads) share one commit. The function
	// may run twice, so it resets what it sets.
	err = s.st.batch(func(t *txn) error {
		existing, ex.Seq = nil, 0
		sm, err := t.stateMachine(smName)
		if errors.Is(err, errNotFound) {
			return apiErr("StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", smARN)
		} else if err != nil {
			return err
		}
		ex.ARN, ex.Express = ExecutionARN(smName, name), sm.Type == TypeExpress
		if ex.Express {
			ex.ARN = ExpressExecutionARN(smName, name, runID)
		}
		old, err := t.execution(ex.ARN)
		switch {
		case err == nil:
			if old.Status == StatusRunning && t.data(old.ARN, 'i') == input {
				existing = old
				return nil
			}
			return apiErr("ExecutionAlreadyExists", "Execution Already Exists: '%s'", ex.ARN)
		case !errors.Is(err, errNotFound):
			return err
		}
		// The execution keeps the definition it started with: a redrive (and a re-run
		// after a crash) uses it, as AWS does, even if the state machine changes.
		if ex.Definition, err = t.putDefinition(sm.Definition); err != nil {
			return err
		}
		if err := t.putExecution(&ex); err != nil {
			return err
		}
		if err := t.putData(ex.ARN, 'i', input); err != nil {
			return err
		}
		started := &asl.ExecutionStartedEventDetails{Input: input, RoleArn: sm.RoleARN}
		return t.putEvent(ex.ARN, 1, eventBytes(asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionStarted, ID: 1, ExecutionStartedEventDetails: started}))
	})
	if err != nil {
		return Execution{}, wrapStoreErr("start execution", err)
	}
	if existing != nil {
		return *existing, nil
	}
	if ex.Express {
		s.logExpressEvent(ex.ARN, asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionStarted, ID: 1,
			ExecutionStartedEventDetails: &asl.ExecutionStartedEventDetails{Input: input}})
	}
	s.enqueue(ex.ARN)
	s.notify()
	return ex, nil
}

// Stop aborts a running or waiting execution: status ABORTED with an
// ExecutionAborted event, written before Stop returns. Stopping an execution that
// has already stopped changes nothing and returns its stop date.
func (s *Service) Stop(ctx context.Context, arn, errName, cause string) (time.Time, error) {
	if _, _, found, err := parseExecutionARN(arn); err != nil {
		return time.Time{}, err
	} else if !found {
		return time.Time{}, execNotFound(arn)
	}
	s.mu.Lock()
	r := s.running[arn]
	if r == nil {
		// Not held by a worker: abort it in the store while holding s.mu, so that no
		// worker can pick it up between the check and the write.
		stop, err := s.abort(arn, nil, errName, cause)
		s.mu.Unlock()
		if err == nil {
			s.notify()
		}
		return stop, err
	}
	s.mu.Unlock()
	r.mu.Lock()
	stop, err := s.abort(arn, r, errName, cause)
	r.mu.Unlock()
	if err == nil {
		r.cancel(errStopped)
		s.notify()
	}
	return stop, err
}

// abort writes ABORTED; r (locked by the caller) is the worker's run, if any.
func (s *Service) abort(arn string, r *run, errName, cause string) (time.Time, error) {
	var stop time.Time
	err := s.st.update(func(t *txn) error {
		ex, err := t.execution(arn)
		if errors.Is(err, errNotFound) {
			return execNotFound(arn)
		} else if err != nil {
			return err
		}
		if ex.Terminal() {
			stop = ex.StopDate
			return nil
		}
		id := ex.RunStart + 1
		if r != nil && r.ready && !r.done {
			id = r.next
			if err := putEvents(t, arn, r.pending); err != nil {
				return err
			}
		} else if err := t.truncateHistory(arn, ex.RunStart); err != nil {
			return err
		}
		stop = s.clock.Now().UTC()
		ex.Status, ex.StopDate, ex.Error, ex.Cause = StatusAborted, stop, errName, cause
		aborted := asl.HistoryEvent{Timestamp: stop, Type: asl.EventExecutionAborted, ID: id, PreviousEventID: id - 1,
			ExecutionAbortedEventDetails: &asl.ErrorCauseDetails{Error: errName, Cause: cause}}
		if err := t.putEvent(arn, id, eventBytes(aborted)); err != nil {
			return err
		}
		return t.putExecution(ex)
	})
	if err != nil {
		return time.Time{}, wrapStoreErr("stop execution", err)
	}
	if r != nil {
		r.done, r.pending = true, nil
	}
	return stop, nil
}

// Redrive resumes a FAILED, ABORTED or TIMED_OUT execution where it stopped, as AWS
// does: the unsuccessful state runs again with the input it had, the successful
// steps' results are kept and their work is not repeated, and in a Parallel or Map
// only the branches and iterations that failed or were aborted run. The history
// gains an ExecutionRedriven event followed by the new run's events; redriveCount
// goes up by one. The conditions are AWS's (redrivable below).
func (s *Service) Redrive(ctx context.Context, arn string) (time.Time, error) {
	if _, _, found, err := parseExecutionARN(arn); err != nil {
		return time.Time{}, err
	} else if !found {
		return time.Time{}, execNotFound(arn)
	}
	if s.isClosed() {
		return time.Time{}, ErrClosed
	}
	now := s.clock.Now().UTC()
	err := s.st.update(func(t *txn) error {
		ex, err := t.execution(arn)
		if errors.Is(err, errNotFound) {
			return execNotFound(arn)
		} else if err != nil {
			return err
		}
		id := t.lastEventID(arn) + 1
		if status, reason := redrivable(*ex, id-1, now); status != redriveStatusRedrivable {
			return apiErr("ExecutionNotRedrivable", "%s: '%s'", reason, arn)
		}
		ex.Status, ex.RedriveCount, ex.RedriveDate, ex.RunStart = StatusPendingRedrive, ex.RedriveCount+1, now, id
		ex.StopDate, ex.Error, ex.Cause = time.Time{}, "", ""
		if err := t.putData(arn, 'o', ""); err != nil {
			return err
		}
		redriven := asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionRedriven, ID: id, PreviousEventID: id - 1,
			ExecutionRedrivenEventDetails: &asl.ExecutionRedrivenEventDetails{RedriveCount: ex.RedriveCount}}
		if err := t.putEvent(arn, id, eventBytes(redriven)); err != nil {
			return err
		}
		return t.putExecution(ex)
	})
	if err != nil {
		return time.Time{}, wrapStoreErr("redrive execution", err)
	}
	s.enqueue(arn)
	s.notify()
	return now, nil
}

// Describe returns an execution with its input and output.
// An Express execution is described here (the twin's own waits and
// StartSyncExecution need it) though the DescribeExecution API refuses it.
func (s *Service) Describe(ctx context.Context, arn string) (ex Execution, input, output string, err error) {
	if !isExpressARN(arn) { // an Express run is stored under the ARN Start returned
		if _, _, found, err := parseExecutionARN(arn); err != nil {
			return Execution{}, "", "", err
		} else if !found {
			return Execution{}, "", "", execNotFound(arn)
		}
	}
	err = s.st.view(func(t *txn) error {
		e, err := t.execution(arn)
		if errors.Is(err, errNotFound) {
			return execNotFound(arn)
		} else if err != nil {
			return err
		}
		ex, input, output = *e, t.data(arn, 'i'), t.data(arn, 'o')
		return nil
	})
	return ex, input, output, wrapStoreErr("describe execution", err)
}

// WaitFor blocks until the execution has stopped (any terminal status) or ctx ends.
func (s *Service) WaitFor(ctx context.Context, arn string) (Execution, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		ex, _, _, err := s.Describe(ctx, arn)
		if err != nil || ex.Terminal() {
			return ex, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ex, fmt.Errorf("wait for %s: %w", arn, ctx.Err())
		}
	}
}

// Changed returns a channel closed at the next status change of any execution: a
// hook for callers (tests, UIs) that wait without polling blindly.
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Close stops accepting starts, lets running executions finish until ctx ends, then
// cancels them and leaves them RUNNING (with queued ones) for the next Open to
// re-run. It closes the store.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelBase(errShutdown)
		select {
		case <-done:
		case <-time.After(s.opts.CloseGrace):
			s.log.Warn("step functions: executions still running at close; they will re-run at next start")
		}
	}
	s.cancelBase(errShutdown)
	if err := s.st.close(); err != nil {
		return fmt.Errorf("close step functions store: %w", err)
	}
	return nil
}

func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Service) enqueue(arn string) {
	s.mu.Lock()
	if s.closed {
		// Durable already: the next Open re-runs it.
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, arn)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) notify() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// take pops the next queued execution and registers its run, or reports none.
func (s *Service) take() (*run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.queue) == 0 {
		return nil, false
	}
	arn := s.queue[0]
	s.queue[0] = ""
	s.queue = s.queue[1:]
	if len(s.queue) > 0 {
		// Pass the token on so that other idle workers wake too.
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	if r := s.running[arn]; r != nil {
		// Redriven while its previous run is still winding down: run it again after.
		r.again = true
		return nil, true
	}
	r := &run{arn: arn}
	s.running[arn] = r
	return r, true
}

func (s *Service) worker() {
	defer s.wg.Done()
	for {
		r, ok := s.take()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-s.quit:
				return
			}
		}
		if r != nil {
			s.execute(r)
		}
	}
}

func (s *Service) execute(r *run) {
	defer func() {
		s.mu.Lock()
		delete(s.running, r.arn)
		again := r.again
		s.mu.Unlock()
		if again {
			s.enqueue(r.arn)
		}
	}()
	ctx, cancel := context.WithCancelCause(s.base)
	defer cancel(nil)
	r.mu.Lock()
	r.cancel = cancel
	spec, ok, err := s.prepare(r)
	r.mu.Unlock()
	if err != nil {
		s.log.Error("step functions: cannot start execution", "execution", r.arn, "err", err)
		return
	}
	if !ok {
		return
	}
	spec.Invoker, spec.Queue, spec.Clock, spec.Tokens = s.opts.Invoker, s.opts.Queue, s.opts.Clock, s.tokens
	out, cp, err := s.eng.run(withRole(ctx, spec.RoleARN), spec, func(ev asl.HistoryEvent) { s.emit(ctx, r, ev) })
	s.finish(ctx, r, out, cp, err)
	if cp != nil && errors.Is(context.Cause(ctx), errStopped) {
		// Stopped: Stop wrote ABORTED already; keep where the run was for a redrive.
		if err := s.st.batch(func(t *txn) error { return t.putData(r.arn, 'c', string(cp)) }); err != nil {
			s.log.Error("step functions: store checkpoint", "execution", r.arn, "err", err)
		}
	}
}

// prepare (r locked) loads what the run needs, marks a PENDING_REDRIVE execution
// RUNNING and discards history an interrupted run left after RunStart.
func (s *Service) prepare(r *run) (runSpec, bool, error) {
	var spec runSpec
	var ex *Execution
	var dirty bool
	err := s.st.view(func(t *txn) error {
		var err error
		if ex, err = t.execution(r.arn); err != nil {
			return err
		}
		if ex.Terminal() {
			return nil
		}
		sm, err := t.stateMachine(ex.StateMachine)
		if err != nil {
			return fmt.Errorf("state machine %s: %w", ex.StateMachine, err)
		}
		def := sm.Definition
		if ex.Definition != "" {
			if d, ok := t.definition(ex.Definition); ok {
				def = d
			}
		}
		spec = runSpec{Definition: def, Input: t.data(r.arn, 'i'), Execution: *ex, RoleARN: sm.RoleARN, StateMachine: sm.Name}
		if ex.RedriveCount > 0 {
			if cp := t.data(r.arn, 'c'); cp != "" {
				spec.Redrive = []byte(cp)
			}
		}
		dirty = ex.Status != StatusRunning || t.lastEventID(r.arn) != ex.RunStart
		return nil
	})
	if err != nil || ex.Terminal() {
		r.done = true
		return spec, false, err
	}
	if dirty {
		err = s.st.update(func(t *txn) error {
			if err := t.truncateHistory(r.arn, ex.RunStart); err != nil {
				return err
			}
			if ex.Status == StatusRunning {
				return nil
			}
			ex.Status = StatusRunning
			return t.putExecution(ex)
		})
		if err != nil {
			r.done = true
			return spec, false, err
		}
		s.notify()
	}
	r.ready, r.next, r.express = true, ex.RunStart+1, ex.Express
	return spec, true, nil
}

var terminalEvents = map[string]string{
	asl.EventExecutionSucceeded: StatusSucceeded,
	asl.EventExecutionFailed:    StatusFailed,
	asl.EventExecutionTimedOut:  StatusTimedOut,
	asl.EventExecutionAborted:   StatusAborted,
}

// emit keeps one engine event. The engine numbers from the run's first event, which
// the service stored already (ExecutionStarted at Start, ExecutionRedriven at
// Redrive), so the ids are the stored ones.
func (s *Service) emit(ctx context.Context, r *run, ev asl.HistoryEvent) {
	r.mu.Lock()
	express := r.express
	r.mu.Unlock()
	if ev.StateEnteredEventDetails != nil && !express {
		// A transition past the quota waits for its token; the engine's emit is
		// synchronous, so the execution waits with it. Stop and Close end the wait.
		// The quota is Standard workflows' ("StateTransition" throttling; Express
		// workflows have none).
		if waited, _ := s.opts.Transitions.Wait(ctx); waited {
			s.log.Debug("step functions: state transition throttled", "execution", r.arn)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || ctx.Err() != nil {
		return
	}
	switch ev.Type {
	case asl.EventExecutionStarted, asl.EventExecutionRedriven:
		return
	}
	r.next = max(r.next, ev.ID+1)
	if r.express {
		s.logExpressEvent(r.arn, ev)
	}
	if _, ok := terminalEvents[ev.Type]; ok {
		r.final = &ev
		return
	}
	r.pending = append(r.pending, storedEvent{ev.ID, eventBytes(ev)})
	if len(r.pending) < flushEvents {
		return
	}
	if err := s.st.batch(func(t *txn) error { return putEvents(t, r.arn, r.pending) }); err != nil {
		s.log.Error("step functions: store history events", "execution", r.arn, "err", err)
		return
	}
	r.pending = nil
}

// finish writes the run's outcome, unless it was stopped or the service is closing.
func (s *Service) finish(ctx context.Context, r *run, out string, cp []byte, runErr error) {
	if errors.Is(context.Cause(ctx), errShutdown) {
		return // left RUNNING: the next Open re-runs it
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	now := s.clock.Now().UTC()
	status, errName, cause := StatusSucceeded, "", ""
	var f *asl.ExecutionError
	switch {
	case runErr == nil:
	case errors.As(runErr, &f):
		status, errName, cause = StatusFailed, f.Name, f.Cause
	default:
		status, errName, cause = StatusFailed, asl.ErrRuntime, runErr.Error()
	}
	final := r.final
	if final != nil && runErr != nil {
		// The engine's terminal event decides (a TimedOut event means TIMED_OUT).
		status = terminalEvents[final.Type]
	}
	if status == StatusTimedOut {
		// DescribeExecution of a timed-out execution has no error or cause on AWS
		// (recorded: localstack test_global_timeout).
		errName, cause = "", ""
	}
	if final == nil {
		id := r.next
		r.next++
		final = &asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionSucceeded, ID: id, PreviousEventID: id - 1,
			ExecutionSucceededEventDetails: &asl.ExecutionSucceededEventDetails{Output: out}}
		if status != StatusSucceeded {
			final = &asl.HistoryEvent{Timestamp: now, Type: asl.EventExecutionFailed, ID: id, PreviousEventID: id - 1,
				ExecutionFailedEventDetails: &asl.ErrorCauseDetails{Error: errName, Cause: cause}}
		}
	}
	err := s.st.batch(func(t *txn) error {
		ex, err := t.execution(r.arn)
		if err != nil {
			return err
		}
		if ex.Terminal() {
			return nil
		}
		ex.Status, ex.StopDate, ex.Error, ex.Cause = status, now, errName, cause
		if err := t.putData(r.arn, 'o', out); err != nil {
			return err
		}
		if cp != nil {
			if err := t.putData(r.arn, 'c', string(cp)); err != nil {
				return err
			}
		}
		if err := putEvents(t, r.arn, r.pending); err != nil {
			return err
		}
		if err := t.putEvent(r.arn, final.ID, eventBytes(*final)); err != nil {
			return err
		}
		return t.putExecution(ex)
	})
	r.done, r.pending = true, nil
	if err != nil {
		s.log.Error("step functions: record execution result", "execution", r.arn, "err", err)
		return
	}
	s.log.Info("step functions: execution finished", "execution", r.arn, "status", status, "error", errName)
	s.notify()
}

func execNotFound(arn string) error {
	return apiErr("ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
}

// wrapStoreErr passes API errors through and wraps the others.
func wrapStoreErr(op string, err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// eventBytes is one history event as stored and served (GetExecutionHistory's JSON).
func eventBytes(ev asl.HistoryEvent) []byte {
	b, _ := json.Marshal(ev) // a HistoryEvent always marshals
	return b
}

// epoch is a timestamp as the JSON 1.0 protocol writes it: epoch seconds, a number.
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// Redrive eligibility, as DescribeExecution reports it (redriveStatus).
const (
	redriveStatusRedrivable    = "REDRIVABLE"
	redriveStatusNotRedrivable = "NOT_REDRIVABLE"
	// redrivablePeriod is how long after it stopped an execution can be redriven.
	redrivablePeriod = 14 * 24 * time.Hour
	// maxHistoryEvents is an execution's event history quota; an execution that
	// reached it cannot be redriven.
	maxHistoryEvents = 25000
)

// redrivable applies AWS's conditions (API_RedriveExecution, DescribeExecution's
// redriveStatusReason): a Standard execution that did not succeed, stopped within
// the last 14 days, with history room left. events is its history length.
func redrivable(ex Execution, events int64, now time.Time) (status, reason string) {
	switch {
	case ex.Status == StatusSucceeded:
		return redriveStatusNotRedrivable, "Execution is SUCCEEDED and cannot be redriven"
	case !ex.Terminal():
		return redriveStatusNotRedrivable, "Execution is RUNNING and cannot be redriven"
	case now.Sub(ex.StopDate) > redrivablePeriod:
		return redriveStatusNotRedrivable, "Execution redrivable period exceeded"
	case events >= maxHistoryEvents:
		return redriveStatusNotRedrivable, "Execution history event limit exceeded"
	}
	return redriveStatusRedrivable, ""
}

// executionData are the event details' members that carry execution data (input,
// output, task parameters), left out of the logged events.
var executionData = []string{"input", "output", "parameters", "inputDetails", "outputDetails"}

// logExpressEvent writes one event of an Express run to the log, where AWS writes
// Express history (CloudWatch Logs; GetExecutionHistory does not serve it), in its
// log fields (type, id, previous_event_id, execution_arn, details), without execution
// data, as the template's log configuration keeps it (IncludeExecutionData false).
func (s *Service) logExpressEvent(arn string, ev asl.HistoryEvent) {
	var fields map[string]any
	if err := json.Unmarshal(eventBytes(ev), &fields); err != nil {
		s.log.Error("step functions: express event", "execution_arn", arn, "err", err)
		return
	}
	details := map[string]any{}
	for k, v := range fields {
		d, ok := v.(map[string]any)
		if !ok || !strings.HasSuffix(k, "EventDetails") {
			continue
		}
		for _, x := range executionData {
			delete(d, x)
		}
		details = d
	}
	s.log.Info("step functions express event", "type", ev.Type, "id", ev.ID, "previous_event_id", ev.PreviousEventID,
		"event_timestamp", ev.Timestamp.UnixMilli(), "execution_arn", arn, "details", details)
}
