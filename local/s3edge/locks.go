package s3edge

import (
	"sort"
	"sync"
)

// lockTable holds one read-write lock per name, created on first use and dropped
// when nobody holds or waits for it.
type lockTable struct {
	mu sync.Mutex
	m  map[string]*lockEntry
}

type lockEntry struct {
	rw   sync.RWMutex
	refs int
}

func (t *lockTable) ref(name string) *lockEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*lockEntry{}
	}
	e := t.m[name]
	if e == nil {
		e = &lockEntry{}
		t.m[name] = e
	}
	e.refs++
	return e
}

func (t *lockTable) unref(name string, e *lockEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(t.m, name)
	}
}

// lock takes the names exclusively, in sorted order so that two multi-name callers
// cannot deadlock, and returns the function that releases them.
func (t *lockTable) lock(names ...string) (unlock func()) {
	names = append([]string(nil), names...)
	sort.Strings(names)
	names = dedupe(names)
	held := make([]*lockEntry, 0, len(names))
	for _, n := range names {
		e := t.ref(n)
		e.rw.Lock()
		held = append(held, e)
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i].rw.Unlock()
			t.unref(names[i], held[i])
		}
	}
}

// tryLock takes one name exclusively if nobody holds it.
func (t *lockTable) tryLock(name string) (unlock func(), ok bool) {
	e := t.ref(name)
	if !e.rw.TryLock() {
		t.unref(name, e)
		return nil, false
	}
	return func() { e.rw.Unlock(); t.unref(name, e) }, true
}

// rlock takes one name shared.
func (t *lockTable) rlock(name string) (unlock func()) {
	e := t.ref(name)
	e.rw.RLock()
	return func() { e.rw.RUnlock(); t.unref(name, e) }
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func objectLockName(bucket, key string) string { return "o\x00" + bucket + "\x00" + key }
func uploadLockName(id string) string          { return "u\x00" + id }
