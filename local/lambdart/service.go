package lambdart

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// Options configure a Service.
type Options struct {
	Logger *slog.Logger // nil: slog.Default()
	// MaxConcurrency caps the invocations running at once across the twin (0:
	// DefaultMaxConcurrency). It is this machine's limit, not Lambda's: a caller past
	// it waits for a slot instead of being throttled. (A function that synchronously
	// invokes another through the twin can therefore wait on itself if every slot is
	// taken by such callers.)
	MaxConcurrency int
	// Credentials gives a function's processes their AWS credentials (nil: the
	// developer identity test/test, no session token).
	Credentials func(fn Function) (id, secret, token string)
	Region      string // empty: us-east-1
	// AccountConcurrency is the account's concurrent executions quota (0: none;
	// Lambda's default is 1,000 per Region, "Lambda quotas",
	// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, read
	// 2026-11-29). Functions without reserved concurrency share what the
	// reservations leave of it (at least one, fixed at the first Deploy); a
	// synchronous invoke past it is TooManyRequestsException with Reason
	// ConcurrentInvocationLimitExceeded, which Step Functions reports as
	// Lambda.TooManyRequestsException. Unlike MaxConcurrency it throttles.
	AccountConcurrency int
	// Started, when set, is called with each new execution environment's process as
	// soon as it runs, before its init is awaited; an error stops the process and
	// fails the invocation as an environment that could not start. imagepipe tune
	// uses it to place the process in the cgroups that give it its memory size's
	// CPU share and memory limit (the process runs its first instructions, a few
	// microseconds, before it is placed).
	Started func(fn Function, pid int) error
}

// DefaultMaxConcurrency is MaxConcurrency when Options leaves it 0: enough for the
// pipeline's parallel branches on a small machine.
func DefaultMaxConcurrency() int { return max(8, 4*runtime.NumCPU()) }

// asyncRetryDelays are Lambda's waits before retrying a failed asynchronous
// invocation: two retries, one and two minutes after the failure.
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Service is the twin's Lambda service.
type Service struct {
	log         *slog.Logger
	region      string
	creds       func(Function) (string, string, string)
	slots       chan struct{} // one per running invocation (MaxConcurrency)
	retryDelays []time.Duration
	accountMax  int // Options.AccountConcurrency
	started     func(Function, int) error
	unreserved  chan struct{}   // the account's unreserved concurrency; nil: unlimited
	ctx         context.Context // ends queued asynchronous work at Close
	cancel      context.CancelFunc

	mu      sync.RWMutex
	fns     map[string]*function
	retired []*function // replaced by a later Deploy, maybe still busy
	closed  bool
	wg      sync.WaitGroup // invocations in flight
}

// function is a deployed function and its execution environments.
type function struct {
	cfg          Function
	codeSHA      string
	codeSize     int64
	lastModified time.Time
	revisionID   string
	reserved     chan struct{} // one per invocation in flight; nil: unlimited
	// ownReserve: reserved is the function's reserved concurrency, not the
	// account's unreserved pool (which names a different throttle Reason).
	ownReserve bool

	mu       sync.Mutex
	idle     []*sandbox // warm environments, most recently used last
	live     map[*sandbox]bool
	retired  bool // replaced by a new Deploy: environments are not reused
	shutdown bool // the service is closing: no environment starts
}

// New returns a Service with no functions.
func New(opts Options) *Service {
	s := &Service{
		log: opts.Logger, region: opts.Region, creds: opts.Credentials,
		retryDelays: asyncRetryDelays, fns: map[string]*function{}, accountMax: opts.AccountConcurrency,
		started: opts.Started,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.region == "" {
		s.region = awsid.Region
	}
	n := opts.MaxConcurrency
	if n <= 0 {
		n = DefaultMaxConcurrency()
	}
	s.slots = make(chan struct{}, n)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func (s *Service) credentials(f Function) (id, secret, token string) {
	if s.creds == nil {
		return "test", "test", ""
	}
	return s.creds(f)
}

// Deploy checks the functions as Lambda's CreateFunction would, and that each
// bootstrap is an executable built for this machine, then registers them (a
// function already deployed under the same name is replaced; its busy environments
// finish their invocation and are discarded). Processes start on first invoke.
func (s *Service) Deploy(fns []Function) error {
	var errs []error
	var built []*function
	seen := map[string]bool{}
	for _, f := range fns {
		n, err := f.normalize(s.region)
		if err == nil && seen[n.Name] {
			err = fmt.Errorf("function %s: deployed twice", n.Name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[n.Name] = true
		fn, err := newFunction(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		built = append(built, fn)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lambda deploy: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("lambda deploy: service is closed")
	}
	s.shareUnreserved(built)
	var old []*function
	for _, fn := range built {
		if prev := s.fns[fn.cfg.Name]; prev != nil {
			old = append(old, prev)
		}
		s.fns[fn.cfg.Name] = fn
	}
	s.retired = append(s.retired, old...)
	s.mu.Unlock()
	for _, fn := range old {
		fn.retire(false)
	}
	return nil
}

// shareUnreserved (s.mu held) gives the functions without reserved concurrency the
// account's unreserved pool: the quota less every reservation, as Lambda
// subtracts reserved concurrency from the account's.
func (s *Service) shareUnreserved(fns []*function) {
	if s.accountMax <= 0 {
		return
	}
	if s.unreserved == nil {
		reserved := 0
		for _, fn := range fns {
			reserved += max(0, fn.cfg.ReservedConcurrency)
		}
		s.unreserved = make(chan struct{}, max(1, s.accountMax-reserved))
	}
	for _, fn := range fns {
		if !fn.ownReserve {
			fn.reserved = s.unreserved
		}
	}
}

func newFunction(cfg Function) (*function, error) {
	sha, size, err := codeDigest(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", cfg.Name, err)
	}
	cfg.Env = cloneMap(cfg.Env)
	fn := &function{cfg: cfg, codeSHA: sha, codeSize: size, lastModified: time.Now(),
		revisionID: newRequestID(), live: map[*sandbox]bool{}}
	if cfg.ReservedConcurrency > 0 {
		fn.reserved = make(chan struct{}, cfg.ReservedConcurrency)
		fn.ownReserve = true
	}
	return fn, nil
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Functions lists the deployed functions by name.
func (s *Service) Functions() []Function {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Function, 0, len(s.fns))
	for _, fn := range s.fns {
		f := fn.cfg
		f.Env = cloneMap(f.Env)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Invoke runs the function synchronously (InvocationType RequestResponse) and
// returns its response. A function error (the runtime reported one, or the process
// timed out, crashed or ran out of memory) is a messages.InvokeResponse_Error with
// Lambda's errorType and errorMessage; an error of the Lambda service itself (not
// found, throttled, payload too large) is an *asl.TaskError named as Step Functions
// names it (Lambda.TooManyRequestsException, ...). If ctx ends first, Invoke returns
// ctx.Err() and the invocation runs on, as it would in Lambda.
func (s *Service) Invoke(ctx context.Context, nameOrARN string, payload []byte) ([]byte, error) {
	fn, serr := s.lookup(nameOrARN, "", true)
	if serr != nil {
		return nil, serr.taskError()
	}
	o, err := s.invokeSync(ctx, fn, payload, "")
	if err != nil {
		var se *serviceError
		if errors.As(err, &se) {
			return nil, se.taskError()
		}
		return nil, err
	}
	if o.err != nil {
		return nil, messages.InvokeResponse_Error{Message: o.err.Message, Type: o.err.Type}
	}
	return o.payload, nil
}

// InvokeAsync queues an asynchronous invocation (InvocationType Event) and returns
// once it is queued; errors are those of the Lambda service (as *asl.TaskError).
func (s *Service) InvokeAsync(ctx context.Context, nameOrARN string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fn, serr := s.lookup(nameOrARN, "", true)
	if serr == nil {
		_, serr = s.enqueue(fn, payload)
	}
	if serr != nil {
		return serr.taskError()
	}
	return nil
}

// checkPayload applies Lambda's request checks: the size limit, and JSON (an empty
// payload is {}).
func checkPayload(payload []byte, async bool) ([]byte, *serviceError) {
	switch {
	case async && len(payload) > MaxAsyncPayload:
		return nil, tooLargeAsync(len(payload))
	case !async && len(payload) > MaxSyncPayload:
		return nil, tooLargeSync()
	case len(payload) == 0:
		return []byte("{}"), nil
	}
	if !json.Valid(payload) {
		var v any
		return nil, invalidContent(json.Unmarshal(payload, &v)) // for the parser's message
	}
	return payload, nil
}

// invokeSync admits a synchronous invocation (reserved concurrency first, at once,
// then a machine slot, waiting) and waits for its outcome or ctx.
func (s *Service) invokeSync(ctx context.Context, fn *function, payload []byte, clientContext string) (outcome, error) {
	payload, serr := checkPayload(payload, false)
	if serr != nil {
		return outcome{}, serr
	}
	if !fn.tryReserve() {
		return outcome{}, throttled(fn.ownReserve)
	}
	if err := s.acquireSlot(ctx); err != nil {
		fn.unreserve()
		return outcome{}, err
	}
	inv := newInvocation(fn, payload, clientContext)
	done := make(chan outcome, 1)
	if !s.track(func() { s.execute(fn, inv, func(o outcome) { done <- o }) }) {
		s.releaseSlot()
		fn.unreserve()
		return outcome{}, shuttingDown()
	}
	select {
	case o := <-done:
		return o, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
}

// enqueue accepts an asynchronous invocation and runs it in the background, with
// Lambda's retries; throttled attempts wait for capacity as Lambda's queue does.
func (s *Service) enqueue(fn *function, payload []byte) (requestID string, serr *serviceError) {
	payload, serr = checkPayload(payload, true)
	if serr != nil {
		return "", serr
	}
	id := newRequestID()
	ok := s.track(func() {
		for attempt := 0; ; attempt++ {
			inv := newInvocation(fn, payload, "")
			inv.id = id // retries keep the request ID
			if fn.reserve(s.ctx) != nil {
				return
			}
			if s.acquireSlot(s.ctx) != nil {
				fn.unreserve()
				return
			}
			o := s.execute(fn, inv, nil)
			if o.err == nil {
				return
			}
			if attempt >= len(s.retryDelays) {
				s.log.Warn("asynchronous invocation failed; no retries left", "function", fn.cfg.Name,
					"requestId", inv.id, "errorType", o.err.Type, "errorMessage", o.err.Message)
				return
			}
			select {
			case <-time.After(s.retryDelays[attempt]):
			case <-s.ctx.Done():
				return
			}
		}
	})
	if !ok {
		return "", shuttingDown()
	}
	return id, nil
}

// track runs f in the background unless the service is closing.
func (s *Service) track(f func()) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *Service) acquireSlot(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) releaseSlot() { <-s.slots }

// execute runs an admitted invocation in an environment (warm if one is idle),
// logs the REPORT record and hands the outcome to deliver (nil: nobody waits). The
// environment and the invocation's slots are released once the runtime is free.
func (s *Service) execute(fn *function, inv *invocation, deliver func(outcome)) outcome {
	if deliver == nil {
		deliver = func(outcome) {}
	}
	release := func() {
		s.releaseSlot()
		fn.unreserve()
	}
	sb, err := s.take(fn)
	if err != nil {
		o := outcome{requestID: inv.id, err: platformError(ErrTypeEntrypoint,
			fmt.Sprintf("RequestId: %s Error: Couldn't find valid bootstrap(s): [%s]: %v", inv.id, fn.cfg.Bootstrap, err))}
		s.log.Error("lambda environment did not start", "function", fn.cfg.Name, "requestId", inv.id, "error", err)
		release()
		deliver(o)
		return o
	}
	o, rep := sb.run(inv)
	s.logReport(fn.cfg.Name, sb.pid, rep)
	// Lambda holds an environment until its runtime asks for the next event. Waiting
	// a moment for that, and releasing everything, before answering means the
	// caller's next invoke finds this environment idle (or knows it gone, after a
	// panic) and its slots free, instead of racing them. A runtime slower than that
	// still has its answer delivered, and is waited for after.
	state := parkGone
	if o.reusable {
		state = sb.awaitParked(time.Now().Add(quickPark))
	}
	if state != parkPending {
		fn.put(sb, state == parked)
		release()
		deliver(o)
		return o
	}
	deliver(o)
	state = sb.awaitParked(inv.deadline.Add(parkGrace))
	fn.put(sb, state == parked)
	release()
	return o
}

func (s *Service) logReport(function string, pid int, r report) {
	attrs := []slog.Attr{
		slog.String("function", function), slog.String("requestId", r.requestID),
		slog.Float64("durationMs", ms(r.duration)), slog.Int64("billedDurationMs", r.billedMs()),
		slog.Int("memorySizeMB", r.memoryMB), slog.Int64("maxMemoryUsedMB", r.maxMemoryMB()),
		slog.Int("pid", pid),
	}
	if r.cold {
		attrs = append(attrs, slog.Float64("initDurationMs", ms(r.initDur)))
	}
	if r.status != "" {
		attrs = append(attrs, slog.String("status", r.status))
	}
	if r.errorType != "" {
		attrs = append(attrs, slog.String("errorType", r.errorType))
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "REPORT", attrs...)
}

// take returns the most recently used idle environment, or starts one.
func (s *Service) take(fn *function) (*sandbox, error) {
	fn.mu.Lock()
	for len(fn.idle) > 0 {
		sb := fn.idle[len(fn.idle)-1]
		fn.idle = fn.idle[:len(fn.idle)-1]
		if sb.alive() {
			fn.mu.Unlock()
			return sb, nil
		}
		delete(fn.live, sb)
	}
	if fn.shutdown {
		fn.mu.Unlock()
		return nil, errors.New("the twin is shutting down")
	}
	fn.mu.Unlock()
	sb, err := s.startSandbox(fn, fn.cfg)
	if err != nil {
		return nil, err
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if fn.shutdown { // Close ran while it started
		go sb.stop()
		return nil, errors.New("the twin is shutting down")
	}
	fn.live[sb] = true
	return sb, nil
}

// put returns an environment to the idle pool, or stops it.
func (fn *function) put(sb *sandbox, reusable bool) {
	fn.mu.Lock()
	if reusable && sb.alive() && !fn.retired && !fn.shutdown {
		fn.idle = append(fn.idle, sb)
		fn.mu.Unlock()
		return
	}
	delete(fn.live, sb)
	fn.mu.Unlock()
	sb.stop()
}

// retire stops the idle environments; with kill, the busy ones too (their
// invocations fail as crashed).
func (fn *function) retire(kill bool) {
	fn.mu.Lock()
	fn.retired = true
	fn.shutdown = fn.shutdown || kill
	idle := fn.idle
	fn.idle = nil
	var busy []*sandbox
	for sb := range fn.live {
		busy = append(busy, sb)
	}
	for _, sb := range idle {
		delete(fn.live, sb)
	}
	fn.mu.Unlock()
	for _, sb := range idle {
		sb.stop()
	}
	if kill {
		for _, sb := range busy {
			sb.kill()
		}
	}
}

func (fn *function) tryReserve() bool {
	if fn.reserved == nil {
		return true
	}
	select {
	case fn.reserved <- struct{}{}:
		return true
	default:
		return false
	}
}

func (fn *function) reserve(ctx context.Context) error {
	if fn.reserved == nil {
		return nil
	}
	select {
	case fn.reserved <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (fn *function) unreserve() {
	if fn.reserved != nil {
		<-fn.reserved
	}
}

// lookup resolves a FunctionName (name, partial ARN or ARN, maybe qualified) and an
// optional Qualifier parameter. Only $LATEST exists. Lambda's not-found message
// names the ARN, with :$LATEST for an unqualified Invoke.
func (s *Service) lookup(ref, qualifier string, invoke bool) (*function, *serviceError) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, &serviceError{Status: 400, Code: "ValidationException", Type: "User", Message: fmt.Sprintf(
			"1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			ref, `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`)}
	}
	if qualifier != "" {
		if r.qualifier != "" && r.qualifier != qualifier {
			return nil, invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.qualifier = qualifier
	}
	region, account := s.region, Account
	if r.region != "" {
		region = r.region
	}
	if r.account != "" {
		account = r.account
	}
	arn := "arn:aws:lambda:" + region + ":" + account + ":function:" + r.name
	switch {
	case r.qualifier != "":
		arn += ":" + r.qualifier
	case invoke:
		arn += ":$LATEST"
	}
	s.mu.RLock()
	fn := s.fns[r.name]
	s.mu.RUnlock()
	if fn == nil || region != s.region || account != Account || (r.qualifier != "" && r.qualifier != "$LATEST") {
		return nil, notFound(arn)
	}
	return fn, nil
}

// Close stops accepting invocations, kills every process (invocations in flight fail
// as crashed, queued asynchronous ones are dropped) and waits for the background
// work to end, or for ctx.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	fns := append([]*function(nil), s.retired...)
	for _, fn := range s.fns {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	s.cancel()
	for _, fn := range fns {
		fn.retire(true)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("lambda close: %w", ctx.Err())
	}
}
