// Package searchindex stores one search document per image and finds documents by
// free text: Amazon OpenSearch in AWS, an embedded bleve index in the twin. Both
// refuse to let an event older (by S3 sequencer) overwrite a newer document.
package searchindex

import (
	"context"
	"strings"
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
	Search(ctx context.Context, q Query) (Result, error)
	Count(ctx context.Context) (int64, error)
}

// Query is a free-text search. Text "" or "*" lists everything, newest first.
type Query struct {
	Text       string
	From, Size int
}

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

func normalize(q Query) Query {
	if q.Size <= 0 {
		q.Size = 20
	}
	q.From = min(max(q.From, 0), MaxWindow)
	if q.From+q.Size > MaxWindow {
		q.Size = max(0, MaxWindow-q.From)
	}
	return q
}
