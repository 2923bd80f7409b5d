package imaging

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Budget bounds the bytes that the images decoding or decoded in one process may hold
// at once: each decode reserves its cost (see Decode) before allocating, and waits
// while other images hold the rest. An image that alone costs more than the whole
// budget is refused at once as too large, never waited for.
type Budget struct {
	size int64
	sem  *semaphore.Weighted
}

// NewBudget makes a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size is the budget's total in bytes.
func (b *Budget) Size() int64 { return b.size }

// reserve takes n bytes of the budget, waiting for other images to release theirs;
// release gives them back (once).
func (b *Budget) reserve(ctx context.Context, n int64) (release func(), err error) {
	if n > b.size {
		return nil, &pipeline.ImageTooLargeError{What: "decoded bytes", Value: n, Limit: b.size}
	}
	n = max(n, 1)
	if !b.sem.TryAcquire(n) {
		if err := b.sem.Acquire(ctx, n); err != nil {
			return nil, &pipeline.TransientError{Op: "wait for decoding memory", Err: err}
		}
		// The bytes just released are garbage the collector has not yet freed:
		// collect them now, so that this image reuses their memory instead of adding
		// to it. Pixel buffers hold no pointers, so the collection is quick.
		runtime.GC()
	}
	return sync.OnceFunc(func() { b.sem.Release(n) }), nil
}

// Memory sizing. A Lambda's memory size is all the process may use: the Go runtime,
// the binary, the AWS clients, the object's bytes read whole (up to MAX_OBJECT_BYTES,
// 50 MB) and what the garbage collector has not yet returned all come out of it.
// So the decoding budget is three quarters of it less 64 MiB, and the collector's
// soft limit (GOMEMLIMIT) is set at 90% so that it collects hard before the sandbox
// would be killed: at 1769 MB (make-thumbnail) the budget is 1262 MiB, at 1024 MB
// (detect-labels) 704 MiB, at 128 MB 32 MiB.
const (
	// DefaultMemoryMiB stands for the memory size where none is set: the CLI, and
	// the twin's own process (its functions get theirs from the Runtime API).
	DefaultMemoryMiB = 1024
	runtimeHeadroom  = 64 << 20
	minBudget        = 16 << 20
)

// Memory is how a process divides its memory.
type Memory struct {
	MiB       int64 // the function's memory size, or DefaultMemoryMiB
	Budget    int64 // bytes for decoded images (DECODE_BUDGET_BYTES overrides)
	SoftLimit int64 // the garbage collector's soft limit in bytes
}

// MemoryFor divides a memory size of mib MiB.
func MemoryFor(mib int64) Memory {
	total := mib << 20
	return Memory{
		MiB:       mib,
		Budget:    max(total*3/4-runtimeHeadroom, minBudget),
		SoftLimit: total * 9 / 10,
	}
}

// MemoryFromEnv reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MiB; Lambda and the twin's
// Runtime API set it) and the optional DECODE_BUDGET_BYTES through getenv.
func MemoryFromEnv(getenv func(string) string) (Memory, error) {
	mib, err := EnvInt(getenv, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DefaultMemoryMiB)
	if err != nil {
		return Memory{}, err
	}
	m := MemoryFor(mib)
	b, err := EnvInt(getenv, "DECODE_BUDGET_BYTES", m.Budget)
	if err != nil {
		return Memory{}, err
	}
	if b > m.SoftLimit {
		return Memory{}, fmt.Errorf("DECODE_BUDGET_BYTES=%d: over 90%% of the %d MiB memory size", b, mib)
	}
	m.Budget = b
	return m, nil
}

// Apply makes m the process's decoding budget and, unless GOMEMLIMIT is set, sets
// the collector's soft limit. A Lambda main calls it once at start.
func (m Memory) Apply() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(m.SoftLimit)
	}
	SetProcessBudget(NewBudget(m.Budget))
}

var process struct {
	sync.Mutex
	budget *Budget
}

// SetProcessBudget replaces the budget every decode in this process draws from.
// Images holding the old budget keep it until they are released.
func SetProcessBudget(b *Budget) {
	process.Lock()
	defer process.Unlock()
	process.budget = b
}

// ProcessBudget is the budget decodes draw from: the one set last, or one sized from
// the environment (MemoryFromEnv, DefaultMemoryMiB when unset or malformed).
func ProcessBudget() *Budget {
	process.Lock()
	defer process.Unlock()
	if process.budget == nil {
		m, err := MemoryFromEnv(os.Getenv)
		if err != nil {
			m = MemoryFor(DefaultMemoryMiB)
		}
		process.budget = NewBudget(m.Budget)
	}
	return process.budget
}
