package s3edge

import (
	"bytes"
	"crypto/md5"
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
)

// store is a gofakes3.Backend that keeps object bytes as files and their records in
// bbolt. A write lands in a new file (temp + fsync + rename + dir fsync) before the
// record that names it commits, so a kill -9 leaves either the old object or the new
// one, never a torn one; unreferenced files are swept at open.
type store struct {
	db    *bolt.DB
	blobs string
	tmp   string
	now   func() time.Time

	// mu orders record lookups + file opens against commits + unlinks, so a reader
	// never finds a record whose file an overwrite just removed.
	mu sync.RWMutex
}

var (
	bucketsBucket  = []byte("buckets")
	countersBucket = []byte("counters")
	sequencerKey   = []byte("sequencer")
)

const objectsPrefix = "obj:"

// record is the stored form of one object.
type record struct {
	Blob         string            `json:"blob"`
	Size         int64             `json:"size"`
	MD5          []byte            `json:"md5"`
	Meta         map[string]string `json:"meta"`
	LastModified time.Time         `json:"lastModified"`
}

type bucketRecord struct {
	Created time.Time `json:"created"`
}

var _ gofakes3.Backend = (*store)(nil)

func openStore(dir string, now func() time.Time) (*store, error) {
	s := &store{blobs: filepath.Join(dir, "blobs"), tmp: filepath.Join(dir, "tmp"), now: now}
	for _, d := range []string{dir, s.blobs, s.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("s3edge: create %s: %w", d, err)
		}
	}
	db, err := bolt.Open(filepath.Join(dir, "objects.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("s3edge: open object database: %w", err)
	}
	s.db = db
	// Concurrent requests share commits (Batch); a short window keeps each request's
	// added latency small, and batches still form while a commit is in progress.
	db.MaxBatchDelay = time.Millisecond
	if err := db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketsBucket, countersBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("s3edge: init object database: %w", err)
	}
	if err := s.sweep(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *store) Close() error { return s.db.Close() }

// sweep removes temp files and blobs no record names: leftovers of a crash between
// a file write and its commit, or between a commit and the old file's unlink.
func (s *store) sweep() error {
	used := map[string]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
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
		})
	})
	if err != nil {
		return fmt.Errorf("s3edge: scan records: %w", err)
	}
	for _, d := range []string{s.tmp, s.blobs} {
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

// writeBlob copies r into a new durable file and returns its name, size and MD5.
func (s *store) writeBlob(r io.Reader) (name string, size int64, sum []byte, err error) {
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return "", 0, nil, fmt.Errorf("s3edge: temp file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// gofakes3 hands over a reader that hashes the body for the ETag: reuse its MD5
	// rather than hash every upload twice.
	if hr, ok := r.(md5Reader); ok {
		if size, err = io.Copy(f, r); err != nil {
			return "", 0, nil, err
		}
		sum = hr.Sum(nil)
	} else {
		h := md5.New()
		if size, err = io.Copy(io.MultiWriter(f, h), r); err != nil {
			return "", 0, nil, err
		}
		sum = h.Sum(nil)
	}
	if err = f.Sync(); err != nil {
		return "", 0, nil, fmt.Errorf("s3edge: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, nil, fmt.Errorf("s3edge: close: %w", err)
	}
	name = randomName()
	if err = os.Rename(f.Name(), filepath.Join(s.blobs, name)); err != nil {
		return "", 0, nil, fmt.Errorf("s3edge: rename: %w", err)
	}
	if err = syncDir(s.blobs); err != nil {
		return "", 0, nil, err
	}
	return name, size, sum, nil
}

// md5Reader is gofakes3's hashing reader: after EOF, Sum is the MD5 of all it read.
type md5Reader interface {
	io.Reader
	Sum(into []byte) []byte
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

// cleanMeta keeps the headers S3 stores with an object. gofakes3 keeps every X-Amz-*
// request header (signatures, checksums, dates) and echoes them on GET; the edge
// smuggles Cache-Control and friends through X-Amz-Edge-* since gofakes3 drops them.
func cleanMeta(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if strings.HasPrefix(k, smuggledPrefix) {
			continue // applied below, so that they win over a copy source's values
		}
		switch {
		case k == "Content-Type", k == "Content-Disposition", k == "Content-Language",
			k == "Cache-Control", k == "Expires", k == "Last-Modified",
			k == "X-Amz-Website-Redirect-Location":
			out[k] = v
		case k == "Content-Encoding":
			if v = stripAWSChunked(v); v != "" {
				out[k] = v
			}
		case strings.HasPrefix(k, "X-Amz-Meta-"):
			out[k] = v
		}
	}
	for k, v := range in {
		if strings.HasPrefix(k, smuggledPrefix) {
			out[strings.TrimPrefix(k, smuggledPrefix)] = v
		}
	}
	return out
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
		c := b.Cursor()
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
		var lastPart, lastKey string
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
					ETag:         gofakes3.FormatETag(r.MD5),
					Size:         r.Size,
					LastModified: gofakes3.NewContentTime(r.LastModified.UTC()),
					StorageClass: gofakes3.StorageStandard,
				})
			}
			lastKey = key
			cnt++
			if page.MaxKeys > 0 && cnt >= page.MaxKeys {
				next := lastKey
				more := false
				for nk, _ := c.Next(); nk != nil; nk, _ = c.Next() {
					var nm gofakes3.PrefixMatch
					if !prefix.Match(string(nk), &nm) {
						continue
					}
					if nm.CommonPrefix && nm.MatchedPart == lastPart {
						next = string(nk)
						continue
					}
					more = true
					break
				}
				if more {
					objects.IsTruncated = true
					objects.NextMarker = next
				}
				break
			}
		}
		return nil
	})
	return objects, err
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
	return s.deleteBucket(name, false)
}

func (s *store) ForceDeleteBucket(name string) error {
	return s.deleteBucket(name, true)
}

func (s *store) deleteBucket(name string, force bool) error {
	var blobs []string
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketsBucket).Get([]byte(name)) == nil {
			return gofakes3.BucketNotFound(name)
		}
		if b := tx.Bucket(objBucket(name)); b != nil {
			if k, _ := b.Cursor().First(); k != nil && !force {
				return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
			}
			_ = b.ForEach(func(_, v []byte) error {
				var r record
				if json.Unmarshal(v, &r) == nil {
					blobs = append(blobs, r.Blob)
				}
				return nil
			})
			if err := tx.DeleteBucket(objBucket(name)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketsBucket).Delete([]byte(name))
	})
	if err != nil {
		return err
	}
	for _, b := range blobs {
		_ = os.Remove(filepath.Join(s.blobs, b))
	}
	return nil
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
	meta := make(map[string]string, len(r.Meta))
	for k, v := range r.Meta {
		meta[k] = v
	}
	return &gofakes3.Object{Name: key, Metadata: meta, Size: r.Size, Contents: contents, Hash: r.MD5, Range: rng}
}

func (s *store) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(bucket, key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(r.Size)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.blobs, r.Blob))
	if err != nil {
		return nil, fmt.Errorf("s3edge: open object %q: %w", key, err)
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
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(bucket, key)
	if err != nil {
		return nil, err
	}
	return s.object(key, r, io.NopCloser(bytes.NewReader(nil)), nil), nil
}

// commit stores rec under key after checking conditions, and unlinks what it replaced.
// Concurrent commits share one bbolt commit (Batch, so fn may run twice). The old
// file is unlinked under s.mu only after the commit: a reader that looked up the old
// record holds s.mu's read lock until it has opened the file, and one that looks up
// later finds the new record.
func (s *store) commit(bucket, key string, rec record, cond *gofakes3.PutConditions) error {
	var old string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		old = ""
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return gofakes3.BucketNotFound(bucket)
		}
		prev := b.Get([]byte(key))
		var pr record
		if prev != nil {
			if err := json.Unmarshal(prev, &pr); err != nil {
				return err
			}
			old = pr.Blob
		}
		if cond != nil {
			if err := gofakes3.CheckPutConditions(cond, &gofakes3.ConditionalObjectInfo{Exists: prev != nil, Hash: pr.MD5}); err != nil {
				old = ""
				return err
			}
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		_ = os.Remove(filepath.Join(s.blobs, rec.Blob))
		return err
	}
	if old != "" && old != rec.Blob {
		s.mu.Lock()
		_ = os.Remove(filepath.Join(s.blobs, old))
		s.mu.Unlock()
	}
	return nil
}

func (s *store) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if ok, err := s.BucketExists(bucket); err != nil || !ok {
		return gofakes3.PutObjectResult{}, errors.Join(gofakes3.BucketNotFound(bucket), err)
	}
	name, n, sum, err := s.writeBlob(input)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if size >= 0 && n != size {
		_ = os.Remove(filepath.Join(s.blobs, name))
		return gofakes3.PutObjectResult{}, gofakes3.ErrIncompleteBody
	}
	rec := record{Blob: name, Size: n, MD5: sum, Meta: cleanMeta(meta), LastModified: s.now().UTC()}
	return gofakes3.PutObjectResult{}, s.commit(bucket, key, rec, cond)
}

func (s *store) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	obj, err := s.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer obj.Contents.Close()
	if _, err := s.PutObject(dstBucket, dstKey, meta, obj.Contents, obj.Size, nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(obj.Hash), LastModified: gofakes3.NewContentTime(s.now())}, nil
}

func (s *store) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	_, err := s.DeleteMulti(bucket, key)
	return gofakes3.ObjectDeleteResult{}, err
}

func (s *store) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	var blobs []string
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return gofakes3.BucketNotFound(bucket)
		}
		for _, k := range keys {
			if v := b.Get([]byte(k)); v != nil {
				var r record
				if json.Unmarshal(v, &r) == nil {
					blobs = append(blobs, r.Blob)
				}
				if err := b.Delete([]byte(k)); err != nil {
					return err
				}
			}
			res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: k})
		}
		return nil
	})
	if err != nil {
		return gofakes3.MultiDeleteResult{}, err
	}
	for _, b := range blobs {
		_ = os.Remove(filepath.Join(s.blobs, b))
	}
	return res, nil
}
