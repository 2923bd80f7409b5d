// Package opensearch is the twin's Amazon OpenSearch Service domain: the REST subset
// that functions/searchindex.OpenSearch sends, over bleve indexes on disk.
//
// Served (each as OpenSearch answers it, errors included):
//
//	PUT    /<index>              create, with settings (one shard) and mappings ("dynamic": false)
//	PUT    /<index>/_mapping     add fields
//	GET    /<index>/_doc/<id>    realtime get, with _seq_no, _primary_term, _version
//	PUT    /<index>/_doc/<id>    index; refresh, op_type, if_seq_no, if_primary_term
//	DELETE /<index>/_doc/<id>    delete; refresh, if_seq_no, if_primary_term
//	POST   /<index>/_search      the bool, match_all, exists, term, terms, multi_match,
//	                             match_phrase_prefix, prefix (keyword) and range (date,
//	                             number; gte/gt/lte/lt) queries; sort, from, size,
//	                             track_total_hits, _source includes
//	GET    /<index>/_count       every document
//
// Anything else is a 400 in OpenSearch's error shape whose reason ends "not supported
// by the imagepipe twin": a request the twin cannot answer as OpenSearch would is
// refused, never guessed at.
//
// Where it differs from a domain in AWS: scores are bleve's (TF-IDF), not BM25, so
// results sorted by _score may tie or order differently; fuzzy terms are not capped
// at 50 expansions; writes are searchable when they return, whatever refresh says
// (OpenSearch may take up to a second without refresh); one shard, so _seq_no counts
// the index's writes, and it may jump after a restart (never go back); a document
// deleted and created again starts again at _version 1 (as OpenSearch does once
// index.gc_deletes, 60s, has passed). SigV4 is the edge's business: requests reaching
// the handler are taken as authorised.
package opensearch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// nodeID names the twin's single node in answers that name one.
const nodeID = "imagepipe-twin"

// PathRoot is where the edge serves OpenSearch domains (LocalStack's "path" endpoint
// strategy): PathRoot + "<region>/<domain>/<index>/...".
const PathRoot = "/opensearch/"

// PathPrefix is the path of one domain on the edge, such as
// "/opensearch/us-east-1/imagepipe": its endpoint is the edge URL followed by it.
func PathPrefix(region, domain string) string { return PathRoot + region + "/" + domain }

// Domain is one OpenSearch domain: its indexes live in folders under one data folder.
type Domain struct {
	prefix string
	dir    string
	log    *slog.Logger

	mu      sync.Mutex // guards indexes and nodes
	indexes map[string]*index
	nodes   int // data nodes (SetDataNodes); 0 is 1
}

// Open opens (creating if needed) the domain whose indexes are kept under dataDir,
// served at the path prefix (PathPrefix(region, domain)), which the handler strips
// from every request.
func Open(prefix, dataDir string, logger *slog.Logger) (*Domain, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("opensearch domain %s: %w", dataDir, err)
	}
	d := &Domain{prefix: "/" + strings.Trim(prefix, "/"), dir: dataDir, log: logger, indexes: map[string]*index{}}
	if d.prefix == "/" {
		d.prefix = ""
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, fmt.Errorf("opensearch domain %s: %w", dataDir, err)
	}
	for _, e := range entries {
		dir := filepath.Join(dataDir, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err != nil || validIndexName(e.Name()) != nil {
			d.log.Warn("opensearch domain: not an index, left alone", "path", dir)
			continue
		}
		ix, err := openIndex(dir, e.Name())
		if errors.Is(err, errUnfinished) {
			// Created but never acknowledged (a crash midway): as if never asked.
			if err := os.RemoveAll(dir); err != nil {
				d.Close()
				return nil, fmt.Errorf("opensearch domain: remove unfinished index %s: %w", e.Name(), err)
			}
			continue
		}
		if err != nil {
			d.Close()
			return nil, err
		}
		d.indexes[e.Name()] = ix
	}
	return d, nil
}

// Close closes every index.
func (d *Domain) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for name, ix := range d.indexes {
		errs = append(errs, ix.bl.Close())
		delete(d.indexes, name)
	}
	return errors.Join(errs...)
}

func (d *Domain) index(name string) (*index, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ix := d.indexes[name]; ix != nil {
		return ix, nil
	}
	return nil, indexNotFound(name)
}

// create makes a new index, or answers that it exists.
func (d *Domain) create(name string, replicas int, m *mappings) error {
	if err := validIndexName(name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ix := d.indexes[name]; ix != nil {
		return alreadyExists(name, ix.meta.UUID)
	}
	ix, err := createIndex(filepath.Join(d.dir, name), name, newMeta(replicas, m))
	if err != nil {
		return err
	}
	d.indexes[name] = ix
	return nil
}

// validIndexName applies OpenSearch's index naming rules
// (https://docs.opensearch.org/latest/api-reference/index-apis/create-index/).
func validIndexName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return invalidIndexName(name, "must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return invalidIndexName(name, "must be lowercase")
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return invalidIndexName(name, "must not start with '_', '-', or '+'")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return invalidIndexName(name, `must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?, #, :]`)
	case len(name) > 255:
		return invalidIndexName(name, "index name is too long, ("+fmt.Sprint(len(name))+" > 255)")
	}
	return nil
}
