// Package searchindex stores one search document per image and finds documents by
// free text in Amazon OpenSearch: the domain in AWS, or the twin's OpenSearch REST
// subset (local/opensearch), through the same requests. An event older (by S3
// sequencer) than the stored document never overwrites it.
package searchindex

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Upsert outcomes (pipeline.IndexResult.Outcome).
const (
	OutcomeCreated      = "created"
	OutcomeUpdated      = "updated"
	OutcomeSkippedOlder = "skipped-older"
)

// MaxWindow is the deepest result (From+Size) a search may ask for, as OpenSearch's
// default index.max_result_window.
const MaxWindow = 10000

// Index is the search index of image documents.
type Index interface {
	// Upsert writes d under d.ID unless the stored document has a newer sequencer.
	Upsert(ctx context.Context, d pipeline.Document) (outcome string, err error)
	// Delete removes a document; deleting a missing one succeeds.
	Delete(ctx context.Context, id string) error
	Get(ctx context.Context, id string) (pipeline.Document, bool, error)
	// Search finds originals only: a document with duplicateOf is folded into its
	// original, which comes back with alsoKeys; Total counts originals.
	Search(ctx context.Context, q Query) (Result, error)
	// Count is the number of documents, duplicates included.
	Count(ctx context.Context) (int64, error)
	// FindByContentHash returns the documents whose contentSha256 is hash, at most
	// MaxGroup of them, earliest first (see Before). "" finds nothing.
	FindByContentHash(ctx context.Context, hash string) ([]pipeline.Document, error)
	// FindByObject returns the documents whose etag and size are these (the
	// event's detail.object), at most MaxObjectMatches of them, earliest first: the
	// cheap first key for "the same bytes were seen before". An equal ETag is not
	// proof of equal bytes (callers compare contentSha256); an ETag "" finds nothing.
	FindByObject(ctx context.Context, etag string, size int64) ([]pipeline.Document, error)
}

// MaxObjectMatches bounds one FindByObject answer: a caller needs one document
// with labels, and copies of one upload rarely number more.
const MaxObjectMatches = 20

// MaxGroup bounds the documents one content-hash lookup (or one page's duplicates
// lookup) returns: a bound on work, far above any real number of copies.
const MaxGroup = 1000

// Query is a free-text search. Text "" or "*" lists everything, newest first; the
// filters narrow either, and Sort orders by a date instead of relevance.
type Query struct {
	Text       string
	From, Size int
	// Sort is SortRelevance (""), SortUploaded or SortTaken, newest first.
	Sort string
	// Label and Camera are exact: a label's name, a camera's model.
	Label, Camera string
	// HasLocation keeps the images with a GPS position.
	HasLocation bool
	// Load is LoadInclude (""), LoadExclude or LoadOnly: the load tester's images,
	// whose keys start with LoadPrefix.
	Load string
	// TakenFrom and TakenTo keep the images taken on those days or between them,
	// both inclusive; only their calendar date counts, and the days are UTC days,
	// as the index compares instants. A zero time is no bound. With either set,
	// images without a date taken are left out.
	TakenFrom, TakenTo time.Time
}

// DayLayout is the form of TakenFrom and TakenTo in requests: a calendar day.
const DayLayout = "2006-01-02"

// TakenRange is q's date-taken range as the instants [from, to): from the start of
// TakenFrom's day to the start of the day after TakenTo; a zero time is no bound.
func (q Query) TakenRange() (from, to time.Time) {
	day := func(t time.Time) time.Time {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if !q.TakenFrom.IsZero() {
		from = day(q.TakenFrom)
	}
	if !q.TakenTo.IsZero() {
		to = day(q.TakenTo).AddDate(0, 0, 1)
	}
	return from, to
}

// Sort orders and load-test choices of a Query.
const (
	SortRelevance = ""
	SortUploaded  = "uploaded"
	SortTaken     = "taken"
	LoadInclude   = ""
	LoadExclude   = "exclude"
	LoadOnly      = "only"
	// LoadPrefix starts every key the load tester uploads (functions/loadgen).
	LoadPrefix = "upload/load/"
)

// Result is one page of matches.
type Result struct {
	Total  int64               `json:"total"`
	Images []pipeline.Document `json:"images"`
}

// maxWords bounds the work one query can cause.
const maxWords = 8

// Words splits free text into the lower-case words the indexes match: runs of
// letters and digits. Every other character separates words, so user text never
// reaches a query syntax.
func Words(text string) []string {
	w := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(w) > maxWords {
		w = w[:maxWords]
	}
	return w
}

// matchAll reports a query that lists everything.
func matchAll(text string) bool {
	t := strings.TrimSpace(text)
	return t == "" || t == "*"
}

// Normalized is q with its defaults applied and its window clamped to MaxWindow.
func (q Query) Normalized() Query {
	if q.Size <= 0 {
		q.Size = 20
	}
	q.From = min(max(q.From, 0), MaxWindow)
	if q.From+q.Size > MaxWindow {
		q.Size = max(0, MaxWindow-q.From)
	}
	return q
}

// Before orders documents with the same content: earlier upload first, then the
// smaller id, so that every writer picks the same original.
func Before(a, b pipeline.Document) bool {
	if !a.UploadedAt.Equal(b.UploadedAt) {
		return a.UploadedAt.Before(b.UploadedAt)
	}
	return a.ID < b.ID
}

// SortGroup sorts documents with the same content by Before.
func SortGroup(docs []pipeline.Document) {
	slices.SortFunc(docs, func(a, b pipeline.Document) int {
		switch {
		case Before(a, b):
			return -1
		case Before(b, a):
			return 1
		}
		return 0
	})
}

// DuplicateOf is what d's duplicateOf should be among group (documents with d's
// content hash; d itself, in any version, may be in it): the id of the earliest
// document, or "" when d is the earliest.
func DuplicateOf(d pipeline.Document, group []pipeline.Document) string {
	orig := d
	for _, g := range group {
		if g.ID != d.ID && g.ContentHash == d.ContentHash && Before(g, orig) {
			orig = g
		}
	}
	if orig.ID == d.ID {
		return ""
	}
	return orig.ID
}

// Reconcile makes one content hash's documents agree: the earliest (by Before) is
// the original with no duplicateOf, every other one points at it. Documents whose id
// is in gone are ignored (being deleted). It is idempotent, and whoever runs it last
// after the last write leaves the group right, which is how concurrent index-document
// and remove-document runs converge. It returns the original's id ("" for an empty
// group) and how many documents it rewrote.
func Reconcile(ctx context.Context, ix Index, hash string, gone ...string) (original string, changed int, err error) {
	if hash == "" {
		return "", 0, nil
	}
	// Errors are returned as they are: their type (TransientError...) is the
	// state machine's error name, which a wrapper would hide.
	found, err := ix.FindByContentHash(ctx, hash)
	if err != nil {
		return "", 0, err
	}
	var group []pipeline.Document
	for _, d := range found {
		if !slices.Contains(gone, d.ID) && d.ContentHash == hash {
			group = append(group, d)
		}
	}
	if len(group) == 0 {
		return "", 0, nil
	}
	SortGroup(group)
	for i, d := range group {
		want := group[0].ID
		if i == 0 {
			want = ""
		}
		if d.DuplicateOf == want {
			continue
		}
		d.DuplicateOf = want
		// Same sequencer as stored: the upsert applies, unless a newer upload of that
		// key landed meanwhile, whose own index-document run reconciles again.
		if _, err := ix.Upsert(ctx, d); err != nil {
			return group[0].ID, changed, err
		}
		changed++
	}
	return group[0].ID, changed, nil
}

// FoldAlsoKeys sets AlsoKeys on each original in page from dups (documents whose
// duplicateOf names one of them), earliest duplicate first.
func FoldAlsoKeys(page []pipeline.Document, dups []pipeline.Document) {
	SortGroup(dups)
	at := map[string]int{}
	for i := range page {
		at[page[i].ID] = i
	}
	for _, d := range dups {
		if i, ok := at[d.DuplicateOf]; ok && d.ID != page[i].ID {
			page[i].AlsoKeys = append(page[i].AlsoKeys, d.Key)
		}
	}
}
