// Package searchindextest holds the in-memory searchindex.Index that tests of the
// index's users (steps, API) run against, so that they need neither a cluster nor
// the twin.
package searchindextest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	"github.com/imagepipe/imagepipe/functions/searchindex"
)

// Memory is an in-memory searchindex.Index. It keeps the contract's rules exactly
// (the sequencer guard and its outcomes, duplicates folded into their original,
// Count including duplicates, content-hash groups in Before order, paging bounds)
// and approximates OpenSearch's free-text matching: a document matches when any
// query word equals, prefixes, or is within OpenSearch's AUTO fuzziness of a word
// of its labels, camera, key or format. Matches come newest first (no scoring).
// The twin's local/opensearch runs the real queries.
type Memory struct {
	mu   sync.Mutex
	docs map[string]pipeline.Document
}

var _ searchindex.Index = (*Memory)(nil)

// New returns an empty index.
func New() *Memory { return &Memory{docs: map[string]pipeline.Document{}} }

// Upsert implements searchindex.Index.
func (m *Memory) Upsert(_ context.Context, d pipeline.Document) (string, error) {
	if d.ID == "" {
		d.ID = pipeline.DocumentID(d.Bucket, d.Key)
	}
	d.ThumbnailURL, d.PreviewURL, d.AlsoKeys = "", "", nil
	m.mu.Lock()
	defer m.mu.Unlock()
	outcome := searchindex.OutcomeCreated
	if old, ok := m.docs[d.ID]; ok {
		if pipeline.CompareSequencers(old.Sequencer, d.Sequencer) > 0 {
			return searchindex.OutcomeSkippedOlder, nil
		}
		outcome = searchindex.OutcomeUpdated
	}
	m.docs[d.ID] = clone(d)
	return outcome, nil
}

// Delete implements searchindex.Index.
func (m *Memory) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, id)
	return nil
}

// Get implements searchindex.Index.
func (m *Memory) Get(_ context.Context, id string) (pipeline.Document, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[id]
	if !ok {
		return pipeline.Document{}, false, nil
	}
	return clone(d), true, nil
}

// Count implements searchindex.Index.
func (m *Memory) Count(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.docs)), nil
}

// FindByContentHash implements searchindex.Index.
func (m *Memory) FindByContentHash(_ context.Context, hash string) ([]pipeline.Document, error) {
	if hash == "" {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pipeline.Document
	for _, d := range m.docs {
		if d.ContentHash == hash {
			out = append(out, clone(d))
		}
	}
	searchindex.SortGroup(out)
	return out[:min(len(out), searchindex.MaxGroup)], nil
}

// FindByObject implements searchindex.Index.
func (m *Memory) FindByObject(_ context.Context, etag string, size int64) ([]pipeline.Document, error) {
	if etag == "" {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []pipeline.Document
	for _, d := range m.docs {
		if d.ETag == etag && d.Size == size {
			out = append(out, clone(d))
		}
	}
	searchindex.SortGroup(out)
	return out[:min(len(out), searchindex.MaxObjectMatches)], nil
}

// Search implements searchindex.Index.
func (m *Memory) Search(_ context.Context, q searchindex.Query) (searchindex.Result, error) {
	q = q.Normalized()
	text := strings.TrimSpace(q.Text)
	all := text == "" || text == "*"
	words := searchindex.Words(text)
	m.mu.Lock()
	var hits, dups []pipeline.Document
	for _, d := range m.docs {
		switch {
		case d.DuplicateOf != "":
			dups = append(dups, clone(d))
		case (all || matches(d, words)) && passes(d, q):
			hits = append(hits, clone(d))
		}
	}
	m.mu.Unlock()
	slices.SortFunc(hits, func(a, b pipeline.Document) int {
		if q.Sort == searchindex.SortTaken {
			// Newest taken first, as instants (takenAt may carry an offset); images
			// without a date last, as OpenSearch sorts missing values.
			ta, errA := time.Parse(time.RFC3339Nano, a.TakenAt)
			tb, errB := time.Parse(time.RFC3339Nano, b.TakenAt)
			switch {
			case errA != nil && errB == nil:
				return 1
			case errA == nil && errB != nil:
				return -1
			}
			if c := tb.Compare(ta); c != 0 {
				return c
			}
		}
		if c := b.UploadedAt.Compare(a.UploadedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	res := searchindex.Result{Total: int64(len(hits)), Images: []pipeline.Document{}}
	if q.From < len(hits) {
		res.Images = append(res.Images, hits[q.From:min(len(hits), q.From+q.Size)]...)
	}
	searchindex.FoldAlsoKeys(res.Images, dups)
	return res, nil
}

// passes reports whether d meets q's filters.
func passes(d pipeline.Document, q searchindex.Query) bool {
	load := strings.HasPrefix(d.Key, searchindex.LoadPrefix)
	switch {
	case q.Label != "" && !slices.ContainsFunc(d.Labels, func(l pipeline.Label) bool { return l.Name == q.Label }):
		return false
	case q.Camera != "" && (d.Camera == nil || d.Camera.Model != q.Camera):
		return false
	case q.HasLocation && d.Location == nil:
		return false
	case q.Load == searchindex.LoadExclude && load, q.Load == searchindex.LoadOnly && !load:
		return false
	}
	return takenWithin(d, q)
}

// takenWithin reports whether d was taken within q's date range, as OpenSearch's
// range query on the date field takenAt decides it: compared as instants, and an
// image without a (parsable) date taken is outside any range.
func takenWithin(d pipeline.Document, q searchindex.Query) bool {
	from, to := q.TakenRange()
	if from.IsZero() && to.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, d.TakenAt)
	switch {
	case err != nil:
		return false
	case !from.IsZero() && t.Before(from), !to.IsZero() && !t.Before(to):
		return false
	}
	return true
}

// matches reports whether any query word matches any of d's searchable words.
func matches(d pipeline.Document, words []string) bool {
	var own []string
	for _, l := range d.Labels {
		own = append(own, searchindex.Words(l.Name)...)
	}
	if d.Camera != nil {
		own = append(own, searchindex.Words(d.Camera.Make+" "+d.Camera.Model)...)
	}
	own = append(own, searchindex.Words(d.Key)...)
	own = append(own, strings.ToLower(d.Format))
	for _, w := range words {
		for _, o := range own {
			if strings.HasPrefix(o, w) || distance(w, o) <= autoFuzziness(w) {
				return true
			}
		}
	}
	return false
}

// autoFuzziness is OpenSearch's fuzziness AUTO: exact below 3 characters, one edit
// up to 5, two beyond.
func autoFuzziness(w string) int {
	switch n := len([]rune(w)); {
	case n < 3:
		return 0
	case n < 6:
		return 1
	}
	return 2
}

// distance is the edit distance with adjacent transpositions (OpenSearch's fuzzy
// queries count a transposition as one edit).
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// clone is d as a stored document reads back: through JSON, as OpenSearch keeps
// _source, so that callers share nothing with the store and times lose what JSON drops.
func clone(d pipeline.Document) pipeline.Document {
	raw, err := json.Marshal(d)
	if err != nil {
		panic(err) // a Document always encodes
	}
	var out pipeline.Document
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}
