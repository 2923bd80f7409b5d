package lambdart

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Execution environment limits.
const (
	// initLimit is Lambda's limit on the init phase of an on-demand environment.
	initLimit = 10 * time.Second
	// memorySampleEvery is how often a working process's resident set is read.
	memorySampleEvery = 20 * time.Millisecond
	// logDrainWait bounds the wait for output a process wrote before it answered.
	logDrainWait = 200 * time.Millisecond
	// parkGrace is how long after its deadline a runtime may take to come back to
	// /next before its environment is discarded instead of reused.
	parkGrace = time.Second
	// quickPark is how long an answer waits for its runtime to be back at /next
	// before it is delivered anyway.
	quickPark = 2 * time.Second
)

// invocation is one request to a function, as the Runtime API hands it out.
type invocation struct {
	id            string
	payload       []byte
	invokedARN    string
	traceID       string
	clientContext string
	deadline      time.Time // set at dispatch
	tail          tail      // guarded by the sandbox's mu while attached

	once sync.Once
	done chan outcome
}

// outcome is what an invocation produced: a payload, or a function error.
type outcome struct {
	requestID string
	payload   []byte
	err       *functionError
	logTail   []byte // the last 4 KB of the invocation's log (LogType Tail)
	reusable  bool   // the environment survived and may serve again
}

func newInvocation(fn *function, payload []byte, clientContext string) *invocation {
	return &invocation{
		id: newRequestID(), payload: payload, invokedARN: fn.cfg.ARN,
		traceID: newTraceID(), clientContext: clientContext,
		done: make(chan outcome, 1),
	}
}

func (inv *invocation) complete(o outcome) {
	inv.once.Do(func() { inv.done <- o })
}

// report is one invocation's REPORT line.
type report struct {
	requestID string
	duration  time.Duration
	initDur   time.Duration
	cold      bool
	memoryMB  int
	maxMemKB  int64
	status    string // "", "timeout" or "error" (for errors Lambda itself reports)
	errorType string
}

// billedMs rounds up to the millisecond, as Lambda bills; OS-only runtimes are
// billed for their init phase too.
func (r report) billedMs() int64 {
	d := r.duration
	if r.cold {
		d += r.initDur
	}
	return max(1, int64(math.Ceil(float64(d)/float64(time.Millisecond))))
}

// maxMemoryMB is Max Memory Used: never more than the function has.
func (r report) maxMemoryMB() int64 {
	return min(int64(r.memoryMB), (r.maxMemKB+1023)/1024)
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)/10) / 100 }

func (r report) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		r.requestID, ms(r.duration), r.billedMs(), r.memoryMB, r.maxMemoryMB())
	if r.cold {
		fmt.Fprintf(&b, "Init Duration: %.2f ms\t", ms(r.initDur))
	}
	if r.status != "" {
		fmt.Fprintf(&b, "Status: %s\t", r.status)
	}
	if r.errorType != "" {
		fmt.Fprintf(&b, "Error Type: %s\t", r.errorType)
	}
	return b.String()
}

// run carries one invocation through the sandbox: the init phase on a cold start,
// then dispatch and the wait for an answer, the timeout, a crash or the memory
// limit, and last the log tail.
func (sb *sandbox) run(inv *invocation) (outcome, report) {
	sb.mu.Lock()
	sb.logInv = inv
	cold := !sb.warm
	sb.mu.Unlock()
	stopWatch := sb.watchMemory()
	rep := report{requestID: inv.id, memoryMB: sb.cfg.MemoryMB, cold: cold}

	var o outcome
	if cold {
		if fe := sb.awaitInit(inv); fe != nil {
			o = outcome{err: fe}
			rep.initDur = time.Since(sb.started)
		} else {
			rep.initDur = sb.initDur
		}
	}
	if o.err == nil {
		sb.mu.Lock()
		sb.warm = true
		inv.tail.add([]byte("START RequestId: " + inv.id + " Version: $LATEST"))
		sb.mu.Unlock()
		start := time.Now()
		o = sb.dispatch(inv)
		rep.duration = time.Since(start)
	}
	stopWatch()
	rep.maxMemKB = sb.hwmKB.Load()
	if o.err != nil && !o.reusable {
		rep.status, rep.errorType = "error", o.err.Type
		if o.err.Type == ErrTypeTimeout {
			rep.status, rep.errorType = "timeout", ""
		}
	}
	o.logTail = sb.detachLogs(inv, o, rep)
	o.requestID = inv.id
	return o, rep
}

// awaitInit waits for the runtime's first /next; it returns the init's failure: an
// error posted to /init/error, an exit, or the init limit passing.
func (sb *sandbox) awaitInit(inv *invocation) *functionError {
	t := time.NewTimer(initLimit)
	defer t.Stop()
	select {
	case <-sb.ready:
		return nil
	case fe := <-sb.initErr:
		sb.stop()
		return fe
	case <-sb.exited:
		select {
		case fe := <-sb.initErr:
			return fe
		case <-sb.ready:
			return nil // it reached /next, then died: dispatch reports the exit
		default:
			return sb.exitError(inv.id)
		}
	case <-t.C:
		sb.stop()
		return timeoutError(inv.id, initLimit)
	}
}

// dispatch hands the invocation to the runtime and waits for its answer until the
// function's timeout.
func (sb *sandbox) dispatch(inv *invocation) outcome {
	timeout := sb.cfg.Timeout
	inv.deadline = time.Now().Add(timeout)
	sb.next <- inv
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case o := <-inv.done:
		o.reusable = true
		return o
	case <-sb.exited:
	case <-t.C:
	}
	// The answer may have raced the exit or the timer; an answer wins.
	select {
	case o := <-inv.done:
		o.reusable = true
		return o
	default:
	}
	if sb.alive() {
		sb.stop()
		return outcome{err: timeoutError(inv.id, timeout)}
	}
	return outcome{err: sb.exitError(inv.id)}
}

// exitError is how Lambda reports a runtime that exited before answering.
func (sb *sandbox) exitError(requestID string) *functionError {
	reason := "Runtime exited without providing a reason"
	if st := sb.exitState; st != nil && !st.Success() {
		reason = "Runtime exited with error: " + st.String()
	}
	typ := ErrTypeExit
	if sb.oom.Load() {
		typ = ErrTypeOutOfMemory
	}
	return platformError(typ, fmt.Sprintf("RequestId: %s Error: %s", requestID, reason))
}

// watchMemory samples the process's memory until stopped, killing it when its
// resident set passes the function's memory size.
func (sb *sandbox) watchMemory() (stop func()) {
	limitKB := int64(sb.cfg.MemoryMB) * 1024
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(memorySampleEvery)
		defer t.Stop()
		for {
			rss, ok := sb.sampleMemory()
			if !ok {
				return
			}
			if rss > limitKB {
				sb.oom.Store(true)
				sb.kill()
				sb.svc.log.Warn("function process exceeded its memory size; killed", "function", sb.cfg.Name,
					"pid", sb.pid, "rssMB", rss/1024, "memorySizeMB", sb.cfg.MemoryMB)
				return
			}
			select {
			case <-quit:
				sb.sampleMemory() // the high-water mark the work left
				return
			case <-sb.exited:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

func (sb *sandbox) sampleMemory() (rssKB int64, ok bool) {
	rss, hwm, ok := memoryKB(sb.pid)
	if !ok {
		return 0, false
	}
	if hwm > sb.hwmKB.Load() {
		sb.hwmKB.Store(hwm) // one watcher at a time writes
	}
	return rss, true
}

// detachLogs waits for the output the process wrote before it answered, detaches
// the invocation from the output streams and closes its log as Lambda does.
func (sb *sandbox) detachLogs(inv *invocation, o outcome, rep report) []byte {
	deadline := time.Now().Add(logDrainWait)
	sb.stdout.drain(deadline)
	sb.stderr.drain(deadline)
	sb.mu.Lock()
	sb.logInv = nil
	sb.mu.Unlock()
	if o.err != nil && o.err.Type == ErrTypeTimeout {
		inv.tail.add(fmt.Appendf(nil, "%s %s Task timed out after %.2f seconds",
			time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, sb.cfg.Timeout.Seconds()))
	}
	inv.tail.add([]byte("END RequestId: " + inv.id))
	inv.tail.add([]byte(rep.line()))
	return inv.tail.last()
}

// parkState is where a runtime is after answering an invocation.
type parkState int

const (
	parkPending parkState = iota // not back at /next yet
	parked                       // waiting at /next: free for the next invocation
	parkGone                     // exited
)

// awaitParked waits until deadline for the runtime to come back to /next after
// answering, as Lambda considers an invocation over only then.
func (sb *sandbox) awaitParked(deadline time.Time) parkState {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-sb.parked:
		return parked
	case <-sb.exited:
		return parkGone
	case <-t.C:
		return parkPending
	}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID is an X-Ray trace header for an unsampled request.
func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
