package sigv4

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestHashCheckReader(t *testing.T) {
	body := []byte(strings.Repeat("abcdefghij", 7000)) // over one internal buffer
	want := sha256Hex(body)
	sources := map[string]func([]byte) io.Reader{
		"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data+EOF": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	for name, src := range sources {
		for _, size := range []int{1, 3, 4096, 1 << 20} {
			read := func(b []byte) ([]byte, error) {
				c := newHashCheck(io.NopCloser(src(b)), want)
				var out []byte
				buf := make([]byte, size)
				for {
					n, err := c.Read(buf)
					out = append(out, buf[:n]...)
					if err == io.EOF {
						return out, nil
					}
					if err != nil {
						return out, err
					}
				}
			}
			got, err := read(body)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%s, reads of %d: genuine body: %d bytes, %v", name, size, len(got), err)
			}
			bad := bytes.Clone(body)
			bad[len(bad)-1] = 'X' // even the very last byte counts
			got, err = read(bad)
			wantKind(t, err, ContentSHA256Mismatch)
			if len(got) >= len(bad) {
				t.Errorf("%s, reads of %d: the tampered body was delivered whole", name, size)
			}
		}
	}
}

func TestHashCheckKeepsTransportErrors(t *testing.T) {
	boom := errors.New("connection reset")
	c := newHashCheck(io.NopCloser(iotest.ErrReader(boom)), emptyHash)
	if _, err := io.ReadAll(c); !errors.Is(err, boom) {
		t.Errorf("err %v, want the transport's", err)
	}
}

func TestReadBodyBounds(t *testing.T) {
	r := wireRequest(t, "POST", "/", [][2]string{{"Host", "h"}}, "0123456789")
	if _, err := readBody(r, 9); KindOf(err) != BodyTooLarge {
		t.Errorf("declared length over the limit: %v", err)
	}
	r = wireRequest(t, "POST", "/", [][2]string{{"Host", "h"}, {"Transfer-Encoding", "chunked"}}, "a\r\n0123456789\r\n0\r\n\r\n")
	if _, err := readBody(r, 9); KindOf(err) != BodyTooLarge {
		t.Errorf("undeclared length over the limit: %v", err)
	}
	r = wireRequest(t, "POST", "/", [][2]string{{"Host", "h"}}, "0123456789")
	if b, err := readBody(r, 10); err != nil || string(b) != "0123456789" {
		t.Fatalf("%q %v", b, err)
	}
	if again, _ := io.ReadAll(r.Body); string(again) != "0123456789" {
		t.Errorf("r.Body after readBody reads %q", again)
	}
}
