package s3edge

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// damage overwrites the database file's pages [from, to) with a byte pattern.
func damage(t *testing.T, path string, from, to int) {
	t.Helper()
	page := os.Getpagesize()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if last := int(st.Size()) / page; to > last {
		to = last
	}
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", page/4))
	for p := from; p < to; p++ {
		if _, err := f.WriteAt(junk, int64(p*page)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDamagedStoreIsOneClearLine: a damaged objects.db (its meta pages, or its
// data pages) stops New with one line that names the file and says what to do,
// never a panic.
func TestDamagedStoreIsOneClearLine(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to int // -1: the images bucket's root page
	}{
		{"meta pages", 0, 2},
		{"data pages", 2, 1 << 30},
		{"the bucket's root page", -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k := &sink{}
			e := start(t, dir, k)
			for i := range 200 {
				put(t, e.client, fmt.Sprintf("upload/%03d-%s.jpg", i, strings.Repeat("x", 100)), []byte("x"))
			}
			e.stop()
			path := filepath.Join(dir, "objects.db")
			if tc.from < 0 {
				root := int(bucketRoot(t, path, "obj:images"))
				tc.from, tc.to = root, root+1
			}
			damage(t, path, tc.from, tc.to)

			srv, err := New(dir, Options{RedeliverEvery: -1, LifecycleEvery: -1, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				srv.Close()
				t.Fatal("a damaged store opened")
			}
			var de *DamagedStoreError
			msg := err.Error()
			if !errors.As(err, &de) || de.Path != path {
				t.Errorf("error %T %v, want a DamagedStoreError for %s", err, err, path)
			}
			if strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, path) || !strings.Contains(msg, "mv "+path) {
				t.Errorf("not one clear line naming the file and what to do: %q", msg)
			}
			t.Logf("%s", msg)
		})
	}
}

func bucketRoot(t *testing.T, path, name string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root uint64
	_ = db.View(func(tx *bolt.Tx) error {
		root = uint64(tx.Bucket([]byte(name)).Root())
		return nil
	})
	if root == 0 {
		t.Fatal("the bucket is inline: no page of its own to damage")
	}
	return root
}
