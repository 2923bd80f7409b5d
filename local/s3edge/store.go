package s3edge

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// store keeps object bytes as files and, in one bbolt file, the object records, the
// multipart uploads and the event outbox. A write lands in a new file (temp + fsync
// + rename + dir fsync) before the record that names it commits, and the record
// commits in the same transaction as its event, so a kill -9 leaves either the old
// object or the new one with its event, never a torn object or a silent one.
// Files no record names are swept at open.
//
// It is the gofakes3 Backend for reads (GET, HEAD, listings, bucket calls); every
// write goes through the edge's own handlers, which raise events.
type store struct {
	db    *bolt.DB
	path  string
	blobs string
	parts string
	tmp   string
	now   func() time.Time

	// mu orders record lookups + file opens against commits + unlinks, so a reader
	// never finds a record whose file an overwrite just removed.
	mu sync.RWMutex
}

var (
	bucketsBucket  = []byte("buckets")
	countersBucket = []byte("counters")
	uploadsBucket  = []byte("uploads")
	outboxBucket   = []byte("outbox")
	sequencerKey   = []byte("sequencer")
)

const objectsPrefix = "obj:"

// edgeETag carries a multipart object's ETag through gofakes3, which derives the
// ETag header from an MD5; etagWriter puts it back.
const edgeETag = "X-Amz-Edge-Etag"

// record is the stored form of one object.
type record struct {
	Blob         string            `json:"blob"`
	Size         int64             `json:"size"`
	MD5          []byte            `json:"md5"`
	ETag         string            `json:"etag,omitempty"` // multipart: hex(MD5 of part MD5s)-N
	Meta         map[string]string `json:"meta"`
	Tags         []Tag             `json:"tags,omitempty"`
	LastModified time.Time         `json:"lastModified"`
}

func (r *record) etag() string {
	if r.ETag != "" {
		return r.ETag
	}
	return hex.EncodeToString(r.MD5)
}

type bucketRecord struct {
	Created time.Time `json:"created"`
}

var _ gofakes3.Backend = (*store)(nil)

// DamagedStoreError is an object database bbolt cannot read. The twin must not
// start on it: it says which file and what to do, on one line.
type DamagedStoreError struct {
	Path   string
	Detail string
}

func (e *DamagedStoreError) Error() string {
	return fmt.Sprintf("s3edge: the object store %s is damaged (%s); stop the twin, move the file aside "+
		"(mv %s %s.damaged) and start again: it starts with no objects, so upload again what it held",
		e.Path, e.Detail, e.Path, e.Path)
}

func damaged(path string, detail any) error {
	d := strings.Join(strings.Fields(fmt.Sprint(detail)), " ")
	if len(d) > 300 {
		d = d[:300] + "…"
	}
	return &DamagedStoreError{Path: path, Detail: d}
}

func openStore(dir string, now func() time.Time) (s *store, err error) {
	s = &store{
		path: filepath.Join(dir, "objects.db"), blobs: filepath.Join(dir, "blobs"),
		parts: filepath.Join(dir, "parts"), tmp: filepath.Join(dir, "tmp"), now: now,
	}
	for _, d := range []string{dir, s.blobs, s.parts, s.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("s3edge: create %s: %w", d, err)
		}
	}
	// bbolt panics on some damaged pages; a damaged file must stop the start with
	// one clear line, never a stack trace.
	defer func() {
		if p := recover(); p != nil {
			if s.db != nil {
				_ = s.db.Close()
			}
			s, err = nil, damaged(s.path, p)
		}
	}()
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("s3edge: the object store %s is in use by another process (another twin on the same data folder?)", s.path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return nil, damaged(s.path, err)
	case err != nil:
		return nil, fmt.Errorf("s3edge: open object store %s: %w", s.path, err)
	}
	s.db = db
	// Concurrent requests share commits (Batch); a short window keeps each request's
	// added latency small, and batches still form while a commit is in progress.
	db.MaxBatchDelay = time.Millisecond
	if err := s.init(); err != nil {
		_ = db.Close()
		s.db = nil
		return nil, err
	}
	return s, nil
}

// init checks every page, creates the top-level buckets and sweeps stray files.
func (s *store) init() error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketsBucket, countersBucket, uploadsBucket, outboxBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("s3edge: init object database: %w", err)
	}
	return s.sweep()
}

// check walks every page (bbolt's own consistency check), so that damage shows at
// start rather than as a panic in the middle of a request.
func (s *store) check() error {
	var problems []string
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if n++; n <= 3 {
				problems = append(problems, e.Error())
			}
		}
		return nil
	})
	if err != nil {
		return damaged(s.path, err)
	}
	if n > len(problems) {
		problems = append(problems, fmt.Sprintf("and %d more", n-len(problems)))
	}
	if n > 0 {
		return damaged(s.path, "bbolt check: "+strings.Join(problems, "; "))
	}
	return nil
}

func (s *store) Close() error { return s.db.Close() }

// sweep removes temp files, and blobs and parts no record names: leftovers of a
// crash between a file write and its commit, or between a commit and an unlink.
func (s *store) sweep() error {
	used := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !strings.HasPrefix(string(name), objectsPrefix) {
				return nil
			}
			return b.ForEach(func(_, v []byte) error {
				var r record
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				used[r.Blob] = true
				return nil
			})
		}); err != nil {
			return err
		}
		return forEachUpload(tx, func(_ string, _ *upload, parts map[int]part) error {
			for _, p := range parts {
				used[p.File] = true
			}
			return nil
		})
	})
	if err != nil {
		return damaged(s.path, fmt.Sprintf("unreadable record: %v", err))
	}
	for _, d := range []string{s.tmp, s.blobs, s.parts} {
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("s3edge: sweep %s: %w", d, err)
		}
		for _, e := range entries {
			if d == s.tmp || !used[e.Name()] {
				_ = os.Remove(filepath.Join(d, e.Name()))
			}
		}
	}
	return nil
}

func objBucket(name string) []byte { return []byte(objectsPrefix + name) }

func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// writeFile copies r into a new durable file under dir and returns its name and
// size; sums sees every byte.
func (s *store) writeFile(dir string, r io.Reader, sums io.Writer) (name string, size int64, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("s3edge: temp file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if size, err = io.Copy(io.MultiWriter(f, sums), r); err != nil {
		return "", 0, err
	}
	if err = f.Sync(); err != nil {
		return "", 0, fmt.Errorf("s3edge: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, fmt.Errorf("s3edge: close: %w", err)
	}
	name = randomName()
	if err = os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return "", 0, fmt.Errorf("s3edge: rename: %w", err)
	}
	if err = syncDir(dir); err != nil {
		return "", 0, err
	}
	return name, size, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("s3edge: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("s3edge: fsync dir: %w", err)
	}
	return nil
}

// unlink removes files a commit no longer names, after readers that found the old
// record have opened them.
func (s *store) unlink(dir string, names ...string) {
	if len(names) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		if n != "" {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

// conditions are a write's If-Match / If-None-Match headers.
type conditions struct {
	ifMatch, ifNoneMatch string
}

// check applies S3's conditional writes: If-None-Match "*" fails on an existing
// key, If-Match on another ETag; If-Match on a missing key is NoSuchKey.
func (c conditions) check(key string, prev *record) error {
	if c.ifNoneMatch != "" && prev != nil {
		return errPrecondition()
	}
	if c.ifMatch != "" {
		if prev == nil {
			return errNoSuchKey(key)
		}
		if strings.Trim(c.ifMatch, `"`) != prev.etag() {
			return errPrecondition()
		}
	}
	return nil
}

// putOp is one object write.
type putOp struct {
	bucket, key string
	rec         record
	cond        conditions
	event       *eventInfo              // nil: the bucket raises no events
	also        func(tx *bolt.Tx) error // more of the same transaction (completing an upload)
}

// put commits an object record and, in the same transaction, its event, then
// unlinks the file it replaced. On failure the new file is removed. Concurrent puts
// share one bbolt commit (Batch, so fn may run twice: it starts afresh).
func (s *store) put(op putOp) (staged, error) {
	var st staged
	var old string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		st, old = staged{}, ""
		b := tx.Bucket(objBucket(op.bucket))
		if b == nil {
			return errNoSuchBucket(op.bucket)
		}
		var prev *record
		if v := b.Get([]byte(op.key)); v != nil {
			prev = new(record)
			if err := json.Unmarshal(v, prev); err != nil {
				return err
			}
		}
		if err := op.cond.check(op.key, prev); err != nil {
			return err
		}
		if op.also != nil {
			if err := op.also(tx); err != nil {
				return err
			}
		}
		v, err := json.Marshal(op.rec)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(op.key), v); err != nil {
			return err
		}
		if op.event != nil {
			in := *op.event
			in.key, in.size, in.etag = op.key, op.rec.Size, op.rec.etag()
			if st, err = stage(tx, []eventInfo{in}); err != nil {
				return err
			}
		}
		if prev != nil {
			old = prev.Blob
		}
		return nil
	})
	if err != nil {
		_ = os.Remove(filepath.Join(s.blobs, op.rec.Blob))
		return staged{}, err
	}
	if old != op.rec.Blob {
		s.unlink(s.blobs, old)
	}
	return st, nil
}

// remove deletes keys and, when base is set, stages one "Object Deleted" event per
// key, for missing keys too unless onlyExisting (see missingKeysRaiseEvents).
func (s *store) remove(bucket string, keys []string, base *eventInfo, onlyExisting bool) (staged, error) {
	var st staged
	var blobs []string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		st, blobs = staged{}, nil
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return errNoSuchBucket(bucket)
		}
		var infos []eventInfo
		for _, k := range keys {
			v := b.Get([]byte(k))
			if v != nil {
				var r record
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				blobs = append(blobs, r.Blob)
				if err := b.Delete([]byte(k)); err != nil {
					return err
				}
			}
			if base != nil && (v != nil || !onlyExisting) {
				in := *base
				in.key = k
				infos = append(infos, in)
			}
		}
		var err error
		if len(infos) > 0 {
			st, err = stage(tx, infos)
		}
		return err
	})
	if err != nil {
		return staged{}, err
	}
	s.unlink(s.blobs, blobs...)
	return st, nil
}

func (s *store) ListBuckets() ([]gofakes3.BucketInfo, error) {
	var out []gofakes3.BucketInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketsBucket).ForEach(func(k, v []byte) error {
			var br bucketRecord
			if err := json.Unmarshal(v, &br); err != nil {
				return err
			}
			out = append(out, gofakes3.BucketInfo{Name: string(k), CreationDate: gofakes3.NewContentTime(br.Created)})
			return nil
		})
	})
	return out, err
}

// ListBucket lists keys in order. gofakes3 passes MaxKeys 0 only for an explicit
// max-keys=0 (absent is 1000), which S3 answers with no keys and IsTruncated false.
func (s *store) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	objects := gofakes3.NewObjectList()
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(objBucket(name))
		if b == nil {
			return gofakes3.BucketNotFound(name)
		}
		if page.MaxKeys == 0 {
			return nil
		}
		return listPage(b.Cursor(), prefix, page, objects)
	})
	return objects, err
}

func listPage(c *bolt.Cursor, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage, objects *gofakes3.ObjectList) error {
	var k, v []byte
	switch {
	case page.HasMarker:
		k, v = c.Seek([]byte(page.Marker))
		if string(k) == page.Marker {
			k, v = c.Next()
		}
	case prefix.HasPrefix:
		k, v = c.Seek([]byte(prefix.Prefix))
	default:
		k, v = c.First()
	}
	var cnt int64
	var lastPart string
	for ; k != nil; k, v = c.Next() {
		key := string(k)
		if prefix.HasPrefix && !strings.HasPrefix(key, prefix.Prefix) {
			break // keys are sorted: past the prefix nothing matches
		}
		var m gofakes3.PrefixMatch
		if !prefix.Match(key, &m) {
			continue
		}
		if m.CommonPrefix {
			if m.MatchedPart == lastPart {
				continue
			}
			objects.AddPrefix(m.MatchedPart)
			lastPart = m.MatchedPart
		} else {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("s3edge: record %q: %w", key, err)
			}
			objects.Add(&gofakes3.Content{
				Key:          key,
				ETag:         `"` + r.etag() + `"`,
				Size:         r.Size,
				LastModified: gofakes3.NewContentTime(r.LastModified.UTC()),
				StorageClass: gofakes3.StorageStandard,
			})
		}
		cnt++
		if cnt >= page.MaxKeys {
			markTruncated(c, prefix, key, lastPart, objects)
			break
		}
	}
	return nil
}

// markTruncated looks past a full page for one more entry that is not in the last
// common prefix listed.
func markTruncated(c *bolt.Cursor, prefix *gofakes3.Prefix, last, lastPart string, objects *gofakes3.ObjectList) {
	next := last
	for nk, _ := c.Next(); nk != nil; nk, _ = c.Next() {
		var nm gofakes3.PrefixMatch
		if !prefix.Match(string(nk), &nm) {
			if prefix.HasPrefix && !strings.HasPrefix(string(nk), prefix.Prefix) {
				return
			}
			continue
		}
		if nm.CommonPrefix && nm.MatchedPart == lastPart {
			next = string(nk)
			continue
		}
		objects.IsTruncated = true
		objects.NextMarker = next
		return
	}
}

func (s *store) CreateBucket(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketsBucket)
		if bb.Get([]byte(name)) != nil {
			return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
		}
		v, _ := json.Marshal(bucketRecord{Created: s.now().UTC()})
		if err := bb.Put([]byte(name), v); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(objBucket(name))
		return err
	})
}

func (s *store) BucketExists(name string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketsBucket).Get([]byte(name)) != nil
		return nil
	})
	return ok, err
}

func (s *store) DeleteBucket(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketsBucket).Get([]byte(name)) == nil {
			return gofakes3.BucketNotFound(name)
		}
		if b := tx.Bucket(objBucket(name)); b != nil {
			if k, _ := b.Cursor().First(); k != nil {
				return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
			}
			if err := tx.DeleteBucket(objBucket(name)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketsBucket).Delete([]byte(name))
	})
}

// errEdgeWrites guards the Backend's write methods: the edge routes every write to
// its own handlers, which raise the events these could not.
var errEdgeWrites = gofakes3.ErrorMessage(gofakes3.ErrNotImplemented, "writes go through the edge's own handlers")

func (s *store) ForceDeleteBucket(string) error { return errEdgeWrites }
func (s *store) PutObject(string, string, map[string]string, io.Reader, int64, *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	return gofakes3.PutObjectResult{}, errEdgeWrites
}
func (s *store) CopyObject(string, string, string, string, map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObjectResult{}, errEdgeWrites
}
func (s *store) DeleteObject(string, string) (gofakes3.ObjectDeleteResult, error) {
	return gofakes3.ObjectDeleteResult{}, errEdgeWrites
}
func (s *store) DeleteMulti(string, ...string) (gofakes3.MultiDeleteResult, error) {
	return gofakes3.MultiDeleteResult{}, errEdgeWrites
}

func (s *store) lookup(bucket, key string) (*record, error) {
	var r *record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return gofakes3.BucketNotFound(bucket)
		}
		v := b.Get([]byte(key))
		if v == nil {
			return gofakes3.KeyNotFound(key)
		}
		r = new(record)
		return json.Unmarshal(v, r)
	})
	return r, err
}

func (s *store) object(key string, r *record, contents io.ReadCloser, rng *gofakes3.ObjectRange) *gofakes3.Object {
	meta := make(map[string]string, len(r.Meta)+1)
	for k, v := range r.Meta {
		meta[k] = v
	}
	if r.ETag != "" {
		meta[edgeETag] = r.ETag
	}
	if n := tagCount(r.Tags); n != "" {
		meta["X-Amz-Tagging-Count"] = n
	}
	return &gofakes3.Object{Name: key, Metadata: meta, Size: r.Size, Contents: contents, Hash: r.MD5, Range: rng}
}

// open finds a record and opens its file under the read lock, so that an
// overwrite cannot unlink the file in between.
func (s *store) open(bucket, key string) (*record, *os.File, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(bucket, key)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(filepath.Join(s.blobs, r.Blob))
	if err != nil {
		return nil, nil, fmt.Errorf("s3edge: open object %q: %w", key, err)
	}
	return r, f, nil
}

func (s *store) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	r, f, err := s.open(bucket, key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(r.Size)
	if err != nil {
		f.Close()
		return nil, err
	}
	var rc io.ReadCloser = f
	if rng != nil {
		rc = readCloser{io.NewSectionReader(f, rng.Start, rng.Length), f}
	}
	return s.object(key, r, rc, rng), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func (s *store) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	r, err := s.lookup(bucket, key)
	if err != nil {
		return nil, err
	}
	return s.object(key, r, io.NopCloser(bytes.NewReader(nil)), nil), nil
}
