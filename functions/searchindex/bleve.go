package searchindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	mu  sync.Mutex // serialises read-modify-write in Upsert and Delete
	idx bleve.Index
}

var _ Index = (*Bleve)(nil)

const wordsAnalyzer = "imagepipe-words"

// OpenBleve opens the index at path, creating it on first use.
func OpenBleve(path string) (*Bleve, error) {
	idx, err := bleve.Open(path)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.New(path, bleveMapping())
	}
	if err != nil {
		return nil, fmt.Errorf("open bleve index %s: %w", path, err)
	}
	return &Bleve{idx: idx}, nil
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
	im.DefaultMapping = dm
	return im
}

// searchFields are the fields free text matches.
var searchFields = []string{"labels", "camera", "key", "format"}

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
	return map[string]any{
		"labels":     labels,
		"camera":     camera,
		"key":        strings.Join(Words(d.Key), " "),
		"format":     d.Format,
		"uploadedAt": d.UploadedAt.UTC().Format(time.RFC3339Nano),
	}
}

// Upsert implements Index.
func (b *Bleve) Upsert(ctx context.Context, d pipeline.Document) (string, error) {
	if d.ID == "" {
		d.ID = pipeline.DocumentID(d.Bucket, d.Key)
	}
	d.ThumbnailURL, d.PreviewURL = "", ""
	b.mu.Lock()
	defer b.mu.Unlock()
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
	b.mu.Lock()
	defer b.mu.Unlock()
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
	var bq query.Query
	sort := []string{"-_score", "-uploadedAt", "_id"}
	if matchAll(q.Text) {
		bq = bleve.NewMatchAllQuery()
		sort = []string{"-uploadedAt", "_id"}
	} else {
		bq = BleveQuery(q.Text)
	}
	req := bleve.NewSearchRequestOptions(bq, q.Size, q.From, false)
	req.SortBy(sort)
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("search %q: %w", q.Text, err)
	}
	out := Result{Total: int64(res.Total), Images: []pipeline.Document{}}
	for _, h := range res.Hits {
		d, ok, err := b.get(h.ID)
		if err != nil {
			return Result{}, err
		}
		if ok { // a document deleted between the search and the read is left out
			out.Images = append(out.Images, d)
		}
	}
	return out, nil
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
