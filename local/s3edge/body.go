package s3edge

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// limitIdle makes r's body fail with RequestTimeout when the client sends nothing
// for the idle timeout, as S3 cuts off a stalled upload. It moves the connection's
// read deadline before every read; where the ResponseWriter cannot (a wrapper
// without Unwrap), each read waits in a goroutine against a timer instead.
func (s *Server) limitIdle(w http.ResponseWriter, r *http.Request) (done func()) {
	idle := s.opts.ReadIdleTimeout
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(idle)) == nil {
		r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, idle: idle}
		return func() { _ = rc.SetReadDeadline(time.Time{}) }
	}
	r.Body = &timedBody{ReadCloser: r.Body, idle: idle}
	return func() {}
}

type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, errRequestTimeout()
	}
	return n, err
}

type timedBody struct {
	io.ReadCloser
	idle     time.Duration
	inflight chan readResult
	err      error
}

type readResult struct {
	data []byte
	err  error
}

func (b *timedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.inflight == nil {
		buf, ch := make([]byte, len(p)), make(chan readResult, 1)
		go func() {
			n, err := b.ReadCloser.Read(buf)
			ch <- readResult{buf[:n], err}
		}()
		b.inflight = ch
	}
	t := time.NewTimer(b.idle)
	defer t.Stop()
	select {
	case res := <-b.inflight:
		b.inflight = nil
		n := copy(p, res.data)
		if res.err != nil {
			b.err = res.err
		}
		return n, res.err
	case <-t.C:
		// The goroutine stays blocked until the server closes the connection.
		b.err = errRequestTimeout()
		return 0, b.err
	}
}

// digests hashes a body for its ETag (MD5) and checks what the client declared:
// Content-MD5 and one x-amz-checksum-* header. A trailing checksum of an
// aws-chunked body is checked by chunkedReader instead.
type digests struct {
	md5     hash.Hash
	wantMD5 []byte
	name    string // x-amz-checksum-crc32 etc.
	sum     hash.Hash
	want    string
}

func newDigests(h http.Header) (*digests, error) {
	d := &digests{md5: md5.New()}
	if v, ok := h["Content-Md5"]; ok {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.Join(v, "")))
		if err != nil || len(b) != md5.Size {
			return nil, newError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
		}
		d.wantMD5 = b
	}
	for name := range h {
		lower := strings.ToLower(name)
		if sum := checksumHash(lower); sum != nil && h.Get(name) != "" {
			d.name, d.sum, d.want = lower, sum, h.Get(name)
			break
		}
	}
	return d, nil
}

func (d *digests) writer() io.Writer {
	if d.sum != nil {
		return io.MultiWriter(d.md5, d.sum)
	}
	return d.md5
}

// check compares the declared digests with what was read.
func (d *digests) check() error {
	if d.wantMD5 != nil && !bytes.Equal(d.wantMD5, d.md5.Sum(nil)) {
		return newError(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	}
	if d.sum != nil && d.got() != d.want {
		return errBadDigest(strings.ToUpper(strings.TrimPrefix(d.name, "x-amz-checksum-")))
	}
	return nil
}

func (d *digests) got() string { return base64.StdEncoding.EncodeToString(d.sum.Sum(nil)) }

// echo returns the checksum header S3 answers with, if the client sent one.
func (d *digests) echo(w http.ResponseWriter) {
	if d.sum != nil {
		w.Header().Set(d.name, d.got())
	}
}
