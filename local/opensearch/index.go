package opensearch

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Keys of bleve's internal store, written in the same batch as what they describe.
var (
	metaKey = []byte("meta") // indexMeta
	seqKey  = []byte("seq")  // the sequence numbers reserved so far
	docKey  = []byte("doc/") // + id: record
)

// seqBlock is how many sequence numbers one durable reservation covers. A restart
// continues after the last reservation, so _seq_no never goes back (it may jump).
const seqBlock = 1024

// primaryTerm is the twin's only primary term: one node, one shard, never failed over.
const primaryTerm = 1

// indexMeta is what an index was created with.
type indexMeta struct {
	UUID     string    `json:"uuid"`
	Created  int64     `json:"creation_date"`
	Replicas int       `json:"number_of_replicas"`
	Mappings *mappings `json:"mappings"`
}

// record is one stored document: its _source and its place in the shard's history.
type record struct {
	SeqNo   int64           `json:"seq_no"`
	Term    int64           `json:"primary_term"`
	Version int64           `json:"version"`
	Source  json.RawMessage `json:"source"`
}

// index is one OpenSearch index: a bleve index on disk holding the searchable
// fields, _source and, in its internal store, the records and metadata.
type index struct {
	name string
	bl   bleve.Index

	mu   sync.RWMutex // guards meta.Mappings (PUT _mapping replaces it); the rest is fixed
	meta indexMeta

	locks idLocks // one writer per document id at a time

	seqMu    sync.Mutex
	nextSeq  int64
	reserved int64
}

// createIndex makes a new index at dir.
func createIndex(dir, name string, meta indexMeta) (*index, error) {
	bl, err := bleve.New(dir, bleveMapping())
	if err != nil {
		return nil, fmt.Errorf("create index %s: %w", name, err)
	}
	raw, err := json.Marshal(meta)
	if err == nil {
		err = bl.SetInternal(metaKey, raw) // last: an index without it was never acknowledged
	}
	if err != nil {
		bl.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create index %s: %w", name, err)
	}
	return &index{name: name, bl: bl, meta: meta}, nil
}

// errUnfinished is an index directory whose creation never completed.
var errUnfinished = errors.New("index creation never completed")

// openIndex opens the index at dir.
func openIndex(dir, name string) (*index, error) {
	bl, err := bleve.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", name, err)
	}
	ix := &index{name: name, bl: bl}
	raw, err := bl.GetInternal(metaKey)
	if err == nil && raw == nil {
		err = errUnfinished
	}
	if err == nil {
		err = json.Unmarshal(raw, &ix.meta)
	}
	var seq []byte
	if err == nil {
		seq, err = bl.GetInternal(seqKey)
	}
	if err == nil && seq != nil {
		ix.nextSeq, err = strconv.ParseInt(string(seq), 10, 64)
		ix.reserved = ix.nextSeq
	}
	if err != nil {
		bl.Close()
		return nil, fmt.Errorf("open index %s: %w", name, err)
	}
	if ix.meta.Mappings == nil {
		ix.meta.Mappings = &mappings{Properties: map[string]*field{}}
	}
	return ix, nil
}

// bleveMapping is the index mapping bleve is created with. Documents are indexed
// with IndexAdvanced from the OpenSearch mapping and queries name their fields, so
// it maps nothing itself.
func bleveMapping() *mapping.IndexMappingImpl {
	im := bleve.NewIndexMapping()
	im.DefaultMapping.Dynamic = false
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	return im
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:22]
}

func newMeta(replicas int, m *mappings) indexMeta {
	return indexMeta{UUID: newUUID(), Created: time.Now().UnixMilli(), Replicas: replicas, Mappings: m}
}

func (ix *index) mappings() *mappings {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.meta.Mappings
}

// putMapping merges update into the mapping. Documents already indexed are not
// indexed again, as in OpenSearch: new fields apply to documents written later.
func (ix *index) putMapping(update map[string]*field) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	next := ix.meta.Mappings.clone()
	if err := merge(next.Properties, update, ""); err != nil {
		return err
	}
	meta := ix.meta
	meta.Mappings = next
	raw, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("index %s mapping: %w", ix.name, err)
	}
	if err := ix.bl.SetInternal(metaKey, raw); err != nil {
		return fmt.Errorf("index %s mapping: %w", ix.name, err)
	}
	ix.meta.Mappings = next // replicas change under the same lock (setReplicas)
	return nil
}

// metaCopy is the index's metadata as of now (replicas change with _settings).
func (ix *index) metaCopy() indexMeta {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.meta
}

// setReplicas changes number_of_replicas, durably.
func (ix *index) setReplicas(n int) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	meta := ix.meta
	meta.Replicas = n
	raw, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("index %s settings: %w", ix.name, err)
	}
	if err := ix.bl.SetInternal(metaKey, raw); err != nil {
		return fmt.Errorf("index %s settings: %w", ix.name, err)
	}
	ix.meta.Replicas = n
	return nil
}

// seqNo hands out the shard's next sequence number, reserving a block durably
// before its first number is used.
func (ix *index) seqNo() (int64, error) {
	ix.seqMu.Lock()
	defer ix.seqMu.Unlock()
	if ix.nextSeq >= ix.reserved {
		r := ix.nextSeq + seqBlock
		if err := ix.bl.SetInternal(seqKey, []byte(strconv.FormatInt(r, 10))); err != nil {
			return 0, fmt.Errorf("index %s: reserve sequence numbers: %w", ix.name, err)
		}
		ix.reserved = r
	}
	n := ix.nextSeq
	ix.nextSeq++
	return n, nil
}

// get reads a document's record (realtime: the last acknowledged write).
func (ix *index) get(id string) (record, bool, error) {
	raw, err := ix.bl.GetInternal(append(docKey[:len(docKey):len(docKey)], id...))
	if err != nil || raw == nil {
		return record{}, false, err
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return record{}, false, fmt.Errorf("index %s: document %s: %w", ix.name, id, err)
	}
	return r, true, nil
}

// writeCond is a write's concurrency control: op_type=create, or if_seq_no with
// if_primary_term.
type writeCond struct {
	create          bool
	ifSeqNo, ifTerm *int64
}

// check applies cond to the current record, with OpenSearch's conflict messages.
func (ix *index) check(id string, cond writeCond, cur record, found bool) error {
	switch {
	case cond.create && found:
		return versionConflict(ix, id, fmt.Sprintf("document already exists (current version [%d])", cur.Version))
	case cond.ifSeqNo == nil:
		return nil
	case !found:
		return versionConflict(ix, id, fmt.Sprintf("required seqNo [%d], primary term [%d]. but no document was found", *cond.ifSeqNo, *cond.ifTerm))
	case cur.SeqNo != *cond.ifSeqNo || cur.Term != *cond.ifTerm:
		return versionConflict(ix, id, fmt.Sprintf("required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]",
			*cond.ifSeqNo, *cond.ifTerm, cur.SeqNo, cur.Term))
	}
	return nil
}

// put indexes source under id if cond holds; it returns the new record and whether
// the document was created (rather than replaced).
func (ix *index) put(id string, source []byte, cond writeCond) (record, bool, error) {
	doc, err := build(ix.mappings(), id, source)
	if err != nil {
		return record{}, false, err
	}
	defer ix.locks.lock(id)()
	cur, found, err := ix.get(id)
	if err != nil {
		return record{}, false, err
	}
	if err := ix.check(id, cond, cur, found); err != nil {
		return record{}, false, err
	}
	seq, err := ix.seqNo()
	if err != nil {
		return record{}, false, err
	}
	rec := record{SeqNo: seq, Term: primaryTerm, Version: cur.Version + 1, Source: source}
	raw, err := json.Marshal(rec)
	if err != nil {
		return record{}, false, fmt.Errorf("index %s: encode %s: %w", ix.name, id, err)
	}
	b := ix.bl.NewBatch()
	if err := b.IndexAdvanced(doc); err != nil {
		return record{}, false, fmt.Errorf("index %s: %s: %w", ix.name, id, err)
	}
	b.SetInternal(append(docKey[:len(docKey):len(docKey)], id...), raw)
	if err := ix.bl.Batch(b); err != nil {
		return record{}, false, fmt.Errorf("index %s: write %s: %w", ix.name, id, err)
	}
	return rec, !found, nil
}

// remove deletes id if cond holds. A missing document still takes a sequence
// number, as OpenSearch records the delete; found says whether one was there.
func (ix *index) remove(id string, cond writeCond) (record, bool, error) {
	defer ix.locks.lock(id)()
	cur, found, err := ix.get(id)
	if err != nil {
		return record{}, false, err
	}
	if err := ix.check(id, cond, cur, found); err != nil {
		return record{}, false, err
	}
	seq, err := ix.seqNo()
	if err != nil {
		return record{}, false, err
	}
	rec := record{SeqNo: seq, Term: primaryTerm, Version: cur.Version + 1}
	if !found {
		return rec, false, nil
	}
	b := ix.bl.NewBatch()
	b.Delete(id)
	b.DeleteInternal(append(docKey[:len(docKey):len(docKey)], id...))
	if err := ix.bl.Batch(b); err != nil {
		return record{}, false, fmt.Errorf("index %s: delete %s: %w", ix.name, id, err)
	}
	return rec, true, nil
}

// idLocks is one mutex per document id, held only while in use. Writes to different
// documents proceed together, so that their batches share bleve's persists.
type idLocks struct {
	mu sync.Mutex
	m  map[string]*idLock
}

type idLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks id and returns its unlock.
func (l *idLocks) lock(id string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*idLock{}
	}
	k := l.m[id]
	if k == nil {
		k = &idLock{}
		l.m[id] = k
	}
	k.refs++
	l.mu.Unlock()
	k.mu.Lock()
	return func() {
		k.mu.Unlock()
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}
