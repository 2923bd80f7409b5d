package searchindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Bleve is the twin's index: an embedded bleve index on disk. The full document is
// kept as JSON in the index's internal store, written in the same batch as the
// searchable fields, so both change together.
type Bleve struct {
	// locks serialise the read-modify-write of one document in Upsert and Delete.
	// Different documents proceed together, so that their batches share bleve's
	// persists (each Batch waits until its segment is on disk).
	locks idLocks
	idx   bleve.Index
}

var _ Index = (*Bleve)(nil)

const wordsAnalyzer = "imagepipe-words"

// OpenBleve opens the index at path, creating it on first use.
func OpenBleve(path string) (*Bleve, error) {
	// A rebuild interrupted after moving the old index aside: start it over.
	if _, err := os.Stat(path + ".old"); err == nil {
		if err := os.RemoveAll(path); err != nil {
			return nil, fmt.Errorf("open bleve index %s: %w", path, err)
		}
		if err := os.Rename(path+".old", path); err != nil {
			return nil, fmt.Errorf("open bleve index %s: %w", path, err)
		}
	}
	idx, err := bleve.Open(path)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.New(path, bleveMapping())
	}
	if err != nil {
		return nil, fmt.Errorf("open bleve index %s: %w", path, err)
	}
	if !hasField(idx, fieldContentHash) {
		if idx, err = rebuild(path, idx); err != nil {
			return nil, err
		}
	}
	return &Bleve{idx: idx}, nil
}

// hasField reports whether the index's stored mapping indexes field.
func hasField(idx bleve.Index, field string) bool {
	im, ok := idx.Mapping().(*mapping.IndexMappingImpl)
	if !ok || im.DefaultMapping == nil {
		return true // not ours to judge
	}
	_, ok = im.DefaultMapping.Properties[field]
	return ok
}

// rebuild re-creates an index made by an earlier version (without the duplicate
// fields) from its stored documents. The old files are kept as path.old until the
// new index holds everything, so a crash midway loses nothing: the next open finds
// path.old and starts over from it.
func rebuild(path string, old bleve.Index) (bleve.Index, error) {
	n, err := old.DocCount()
	if err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), int(n), 0, false)
	res, err := old.Search(req)
	if err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	var docs [][]byte
	for _, h := range res.Hits {
		raw, err := old.GetInternal(internalKey(h.ID))
		if err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", path, err)
		}
		if raw != nil {
			docs = append(docs, raw)
		}
	}
	if err := old.Close(); err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	backup := path + ".old"
	if err := os.RemoveAll(backup); err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	if err := os.Rename(path, backup); err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	idx, err := bleve.New(path, bleveMapping())
	if err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	batch := idx.NewBatch()
	for _, raw := range docs {
		var d pipeline.Document
		if err := json.Unmarshal(raw, &d); err != nil {
			continue // unreadable before too: Get would fail on it
		}
		if err := batch.Index(d.ID, flatten(d)); err != nil {
			return nil, fmt.Errorf("rebuild %s: %w", path, err)
		}
		batch.SetInternal(internalKey(d.ID), raw)
	}
	if err := idx.Batch(batch); err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	if err := os.RemoveAll(backup); err != nil {
		return nil, fmt.Errorf("rebuild %s: %w", path, err)
	}
	return idx, nil
}

// Close releases the index files.
func (b *Bleve) Close() error { return b.idx.Close() }

func bleveMapping() mapping.IndexMapping {
	im := bleve.NewIndexMapping()
	// Lower-cased Unicode words, no stemming and no stop words: every word a user
	// types can match, which a conjunction of words needs.
	if err := im.AddCustomAnalyzer(wordsAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		panic(err) // a static mapping: cannot fail at run time
	}
	im.DefaultAnalyzer = wordsAnalyzer
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range searchFields {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = wordsAnalyzer
		fm.Store = false
		dm.AddFieldMappingsAt(f, fm)
	}
	up := bleve.NewDateTimeFieldMapping()
	up.Store = false
	dm.AddFieldMappingsAt("uploadedAt", up)
	// Exact values for duplicate detection: the content hash and the original's id.
	for _, f := range []string{fieldContentHash, fieldDuplicateOf} {
		kw := bleve.NewKeywordFieldMapping()
		kw.Store = false
		kw.IncludeInAll = false
		dm.AddFieldMappingsAt(f, kw)
	}
	dup := bleve.NewBooleanFieldMapping()
	dup.Store = false
	dup.IncludeInAll = false
	dm.AddFieldMappingsAt(fieldDuplicate, dup)
	im.DefaultMapping = dm
	return im
}

// searchFields are the fields free text matches.
var searchFields = []string{"labels", "camera", "key", "format"}

// Fields for duplicates: keyword contentSha256 and duplicateOf, and a boolean that
// search excludes (bleve has no "field exists" query).
const (
	fieldContentHash = "contentSha256"
	fieldDuplicateOf = "duplicateOf"
	fieldDuplicate   = "duplicate"
)

func internalKey(id string) []byte { return []byte("doc/" + id) }

// flatten is what bleve indexes for d: words only, the key split at every separator
// so that "IMG_0200" and "2024" match a part of upload/2024/IMG_0200.jpg.
func flatten(d pipeline.Document) map[string]any {
	labels := make([]string, 0, len(d.Labels))
	for _, l := range d.Labels {
		labels = append(labels, l.Name)
	}
	camera := ""
	if d.Camera != nil {
		camera = d.Camera.Make + " " + d.Camera.Model
	}
	f := map[string]any{
		"labels":       labels,
		"camera":       camera,
		"key":          strings.Join(Words(d.Key), " "),
		"format":       d.Format,
		"uploadedAt":   d.UploadedAt.UTC().Format(time.RFC3339Nano),
		fieldDuplicate: d.DuplicateOf != "",
	}
	if d.ContentHash != "" {
		f[fieldContentHash] = d.ContentHash
	}
	if d.DuplicateOf != "" {
		f[fieldDuplicateOf] = d.DuplicateOf
	}
	return f
}

// Upsert implements Index.
func (b *Bleve) Upsert(ctx context.Context, d pipeline.Document) (string, error) {
	if d.ID == "" {
		d.ID = pipeline.DocumentID(d.Bucket, d.Key)
	}
	d.ThumbnailURL, d.PreviewURL, d.AlsoKeys = "", "", nil
	defer b.locks.lock(d.ID)()
	old, found, err := b.get(d.ID)
	if err != nil {
		return "", err
	}
	outcome := OutcomeCreated
	if found {
		if pipeline.CompareSequencers(old.Sequencer, d.Sequencer) > 0 {
			return OutcomeSkippedOlder, nil
		}
		outcome = OutcomeUpdated
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode document %s: %w", d.ID, err)
	}
	batch := b.idx.NewBatch()
	if err := batch.Index(d.ID, flatten(d)); err != nil {
		return "", fmt.Errorf("index document %s: %w", d.ID, err)
	}
	batch.SetInternal(internalKey(d.ID), raw)
	if err := b.idx.Batch(batch); err != nil {
		return "", fmt.Errorf("write document %s: %w", d.ID, err)
	}
	return outcome, nil
}

// Delete implements Index.
func (b *Bleve) Delete(ctx context.Context, id string) error {
	defer b.locks.lock(id)()
	batch := b.idx.NewBatch()
	batch.Delete(id)
	batch.DeleteInternal(internalKey(id))
	if err := b.idx.Batch(batch); err != nil {
		return fmt.Errorf("delete document %s: %w", id, err)
	}
	return nil
}

// Get implements Index.
func (b *Bleve) Get(ctx context.Context, id string) (pipeline.Document, bool, error) {
	return b.get(id)
}

func (b *Bleve) get(id string) (pipeline.Document, bool, error) {
	raw, err := b.idx.GetInternal(internalKey(id))
	if err != nil {
		return pipeline.Document{}, false, fmt.Errorf("read document %s: %w", id, err)
	}
	if raw == nil {
		return pipeline.Document{}, false, nil
	}
	var d pipeline.Document
	if err := json.Unmarshal(raw, &d); err != nil {
		return pipeline.Document{}, false, fmt.Errorf("decode document %s: %w", id, err)
	}
	return d, true, nil
}

// Count implements Index.
func (b *Bleve) Count(ctx context.Context) (int64, error) {
	n, err := b.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("count documents: %w", err)
	}
	return int64(n), nil
}

// Search implements Index.
func (b *Bleve) Search(ctx context.Context, q Query) (Result, error) {
	q = normalize(q)
	var match query.Query
	sort := []string{"-_score", "-uploadedAt", "_id"}
	if matchAll(q.Text) {
		match = bleve.NewMatchAllQuery()
		sort = []string{"-uploadedAt", "_id"}
	} else {
		match = BleveQuery(q.Text)
	}
	dup := bleve.NewBoolFieldQuery(true)
	dup.SetField(fieldDuplicate)
	bq := bleve.NewBooleanQuery()
	bq.AddMust(match)
	bq.AddMustNot(dup)
	req := bleve.NewSearchRequestOptions(bq, q.Size, q.From, false)
	req.SortBy(sort)
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("search %q: %w", q.Text, err)
	}
	out := Result{Total: int64(res.Total), Images: []pipeline.Document{}}
	if out.Images, err = b.hits(res); err != nil {
		return Result{}, err
	}
	if len(out.Images) == 0 {
		return out, nil
	}
	// The page's duplicates, in one query: their keys become the originals' alsoKeys.
	ids := make([]query.Query, 0, len(out.Images))
	for _, d := range out.Images {
		tq := bleve.NewTermQuery(d.ID)
		tq.SetField(fieldDuplicateOf)
		ids = append(ids, tq)
	}
	dreq := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(ids...), MaxGroup, 0, false)
	dreq.SortBy([]string{"uploadedAt", "_id"})
	dres, err := b.idx.SearchInContext(ctx, dreq)
	if err != nil {
		return Result{}, fmt.Errorf("search duplicates: %w", err)
	}
	dups, err := b.hits(dres)
	if err != nil {
		return Result{}, err
	}
	foldAlsoKeys(out.Images, dups)
	return out, nil
}

// hits reads the stored documents of a result, in its order.
func (b *Bleve) hits(res *bleve.SearchResult) ([]pipeline.Document, error) {
	docs := []pipeline.Document{}
	for _, h := range res.Hits {
		d, ok, err := b.get(h.ID)
		if err != nil {
			return nil, err
		}
		if ok { // a document deleted between the search and the read is left out
			docs = append(docs, d)
		}
	}
	return docs, nil
}

// FindByContentHash implements Index.
func (b *Bleve) FindByContentHash(ctx context.Context, hash string) ([]pipeline.Document, error) {
	if hash == "" {
		return nil, nil
	}
	tq := bleve.NewTermQuery(hash)
	tq.SetField(fieldContentHash)
	req := bleve.NewSearchRequestOptions(tq, MaxGroup, 0, false)
	req.SortBy([]string{"uploadedAt", "_id"})
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("find content %s: %w", hash, err)
	}
	docs, err := b.hits(res)
	if err != nil {
		return nil, err
	}
	sortGroup(docs)
	return docs, nil
}

// BleveQuery builds the structured query for free text: every word must match some
// field, exactly, with one typo (words of 4 letters or more), or as a prefix.
func BleveQuery(text string) query.Query {
	words := Words(text)
	if len(words) == 0 {
		return bleve.NewMatchNoneQuery()
	}
	conj := make([]query.Query, 0, len(words))
	for _, w := range words {
		var alts []query.Query
		for _, f := range searchFields {
			m := bleve.NewMatchQuery(w)
			m.SetField(f)
			m.Analyzer = wordsAnalyzer
			m.SetBoost(3)
			alts = append(alts, m)
			if len([]rune(w)) >= 4 {
				fz := bleve.NewMatchQuery(w)
				fz.SetField(f)
				fz.Analyzer = wordsAnalyzer
				fz.SetFuzziness(1)
				alts = append(alts, fz)
			}
			if len([]rune(w)) >= 2 {
				p := bleve.NewPrefixQuery(w)
				p.SetField(f)
				alts = append(alts, p)
			}
		}
		conj = append(conj, bleve.NewDisjunctionQuery(alts...))
	}
	return bleve.NewConjunctionQuery(conj...)
}

// idLocks is one mutex per document id, held only while in use.
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
