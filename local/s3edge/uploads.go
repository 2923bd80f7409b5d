package s3edge

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// upload is a multipart upload in progress. Its record and its parts' records live
// in one bbolt bucket under "uploads", named by the upload id; the parts' bytes are
// files under parts/, so that nothing an upload holds is in memory.
type upload struct {
	Bucket    string            `json:"bucket"`
	Key       string            `json:"key"`
	Meta      map[string]string `json:"meta"`
	Tags      []Tag             `json:"tags,omitempty"`
	Initiated time.Time         `json:"initiated"`
}

// part is one uploaded part.
type part struct {
	File         string    `json:"file"`
	Size         int64     `json:"size"`
	MD5          []byte    `json:"md5"`
	LastModified time.Time `json:"lastModified"`
}

var uploadRecordKey = []byte("upload")

func partKey(n int) []byte { return binary.BigEndian.AppendUint32([]byte("p"), uint32(n)) }

// readUpload reads an upload's bucket: its record and its parts by number.
func readUpload(ub *bolt.Bucket) (*upload, map[int]part, error) {
	var u upload
	if err := json.Unmarshal(ub.Get(uploadRecordKey), &u); err != nil {
		return nil, nil, err
	}
	parts := map[int]part{}
	err := ub.ForEach(func(k, v []byte) error {
		if len(k) != 5 || k[0] != 'p' {
			return nil
		}
		var p part
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		parts[int(binary.BigEndian.Uint32(k[1:]))] = p
		return nil
	})
	return &u, parts, err
}

func forEachUpload(tx *bolt.Tx, fn func(id string, u *upload, parts map[int]part) error) error {
	return tx.Bucket(uploadsBucket).ForEachBucket(func(id []byte) error {
		u, parts, err := readUpload(tx.Bucket(uploadsBucket).Bucket(id))
		if err != nil {
			return fmt.Errorf("upload %s: %w", id, err)
		}
		return fn(string(id), u, parts)
	})
}

func (s *store) createUpload(id string, u upload) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketsBucket).Get([]byte(u.Bucket)) == nil {
			return errNoSuchBucket(u.Bucket)
		}
		ub, err := tx.Bucket(uploadsBucket).CreateBucketIfNotExists([]byte(id))
		if err != nil {
			return err
		}
		return ub.Put(uploadRecordKey, v)
	})
}

// uploadBucket finds an upload of bucket/key; S3 answers NoSuchUpload for an id
// that names no upload, or an upload of another key.
func uploadBucket(tx *bolt.Tx, id, bucket, key string) (*bolt.Bucket, error) {
	ub := tx.Bucket(uploadsBucket).Bucket([]byte(id))
	if ub == nil {
		return nil, errNoSuchUpload(id)
	}
	var u upload
	if err := json.Unmarshal(ub.Get(uploadRecordKey), &u); err != nil {
		return nil, err
	}
	if u.Bucket != bucket || u.Key != key {
		return nil, errNoSuchUpload(id)
	}
	return ub, nil
}

// getUpload reads an upload of bucket/key and its parts.
func (s *store) getUpload(id, bucket, key string) (*upload, map[int]part, error) {
	var u *upload
	var parts map[int]part
	err := s.db.View(func(tx *bolt.Tx) error {
		ub, err := uploadBucket(tx, id, bucket, key)
		if err != nil {
			return err
		}
		u, parts, err = readUpload(ub)
		return err
	})
	return u, parts, err
}

// putPart records a part whose file is already in parts/, replacing (and then
// unlinking) an earlier part of the same number. On failure the file is removed.
func (s *store) putPart(id, bucket, key string, n int, p part) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var old string
	err = s.db.Batch(func(tx *bolt.Tx) error {
		old = ""
		ub, err := uploadBucket(tx, id, bucket, key)
		if err != nil {
			return err
		}
		if prev := ub.Get(partKey(n)); prev != nil {
			var pp part
			if json.Unmarshal(prev, &pp) == nil {
				old = pp.File
			}
		}
		return ub.Put(partKey(n), v)
	})
	if err != nil {
		_ = os.Remove(filepath.Join(s.parts, p.File))
		return err
	}
	if old != p.File {
		s.unlink(s.parts, old)
	}
	return nil
}

// dropUploadTx deletes an upload inside a transaction and returns its part files,
// for the caller to unlink once the transaction has committed.
func dropUploadTx(tx *bolt.Tx, id, bucket, key string) ([]string, error) {
	ub, err := uploadBucket(tx, id, bucket, key)
	if err != nil {
		return nil, err
	}
	_, parts, err := readUpload(ub)
	if err != nil {
		return nil, err
	}
	files := make([]string, 0, len(parts))
	for _, p := range parts {
		files = append(files, p.File)
	}
	return files, tx.Bucket(uploadsBucket).DeleteBucket([]byte(id))
}

// abortUpload deletes an upload and its parts' files.
func (s *store) abortUpload(id, bucket, key string) error {
	var files []string
	err := s.db.Batch(func(tx *bolt.Tx) error {
		var err error
		files, err = dropUploadTx(tx, id, bucket, key)
		return err
	})
	if err != nil {
		return err
	}
	s.unlink(s.parts, files...)
	return nil
}

// uploadSummary is one upload as listings see it.
type uploadSummary struct {
	id string
	upload
}

// uploads lists every upload in progress, by key then initiation time.
func (s *store) uploads() ([]uploadSummary, error) {
	var out []uploadSummary
	err := s.db.View(func(tx *bolt.Tx) error {
		return forEachUpload(tx, func(id string, u *upload, _ map[int]part) error {
			out = append(out, uploadSummary{id, *u})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		if !out[i].Initiated.Equal(out[j].Initiated) {
			return out[i].Initiated.Before(out[j].Initiated)
		}
		return out[i].id < out[j].id
	})
	return out, err
}

// assemble concatenates the listed parts into a new object file and returns its
// name, its MD5 and its multipart ETag (MD5 of the parts' MD5s, "-" and the count).
func (s *store) assemble(parts []part) (blob string, sum []byte, etag string, err error) {
	whole, ofParts := md5.New(), md5.New()
	for _, p := range parts {
		ofParts.Write(p.MD5)
	}
	pr := &partsReader{dir: s.parts, parts: parts}
	defer pr.close()
	blob, _, err = s.writeFile(s.blobs, pr, whole)
	if err != nil {
		return "", nil, "", err
	}
	return blob, whole.Sum(nil), fmt.Sprintf("%s-%d", hex.EncodeToString(ofParts.Sum(nil)), len(parts)), nil
}

// partsReader reads part files one after the other, one open file at a time.
type partsReader struct {
	dir   string
	parts []part
	cur   *os.File
}

func (r *partsReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if len(r.parts) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(filepath.Join(r.dir, r.parts[0].File))
			if err != nil {
				return 0, fmt.Errorf("s3edge: open part: %w", err)
			}
			r.cur, r.parts = f, r.parts[1:]
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *partsReader) close() {
	if r.cur != nil {
		r.cur.Close()
	}
}

// abortAt is when S3's lifecycle aborts an upload after days: "adding the number of
// days specified in the rule to the object creation time and rounding the resulting
// time to the next day midnight UTC".
func abortAt(initiated time.Time, days int) time.Time {
	t := initiated.UTC().AddDate(0, 0, days)
	m := t.Truncate(24 * time.Hour)
	if m.Before(t) {
		m = m.Add(24 * time.Hour)
	}
	return m
}
