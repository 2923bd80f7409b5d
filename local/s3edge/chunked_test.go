package s3edge

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// frame builds an aws-chunked body of the given chunk sizes with an optional trailer.
func frame(data []byte, chunk int, signed bool, trailer string) []byte {
	var b bytes.Buffer
	sig := ""
	if signed {
		sig = ";chunk-signature=" + strings.Repeat("0", 64)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&b, "%x%s\r\n", n, sig)
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	fmt.Fprintf(&b, "0%s\r\n", sig)
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func crcTrailer(data []byte) string {
	var sum [4]byte
	c := crc32.ChecksumIEEE(data)
	sum[0], sum[1], sum[2], sum[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return "x-amz-checksum-crc32:" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestChunkedReader(t *testing.T) {
	data := bytes.Repeat([]byte("imagepipe"), 5000)
	for _, tc := range []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{"unsigned trailer", frame(data, 8192, false, crcTrailer(data)), ""},
		{"signed", frame(data, 65536, true, ""), ""},
		{"signed trailer", frame(data, 1000, true, crcTrailer(data)), ""},
		{"no final blank line", bytes.TrimSuffix(frame(data, 8192, false, crcTrailer(data)), []byte("\r\n")), ""},
		{"bad checksum", frame(data, 8192, false, crcTrailer([]byte("other"))), "BadDigest"},
		{"truncated", frame(data, 8192, false, "")[:9000], "IncompleteBody"},
		{"bad size", []byte("zz\r\nabc\r\n0\r\n\r\n"), "IncompleteBody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(newChunkedReader(bytes.NewReader(tc.body), "x-amz-checksum-crc32"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("err %v, %d bytes", err, len(got))
			}
		})
	}
}

// What aws CLI v2 and SDKs send when they stream with a checksum trailer.
func TestAWSChunkedTrailerUpload(t *testing.T) {
	k := &sink{}
	e := start(t, t.TempDir(), k)
	data := bytes.Repeat([]byte{0xff, 0xd8, 'x'}, 70_000)
	send := func(key, trailer string) *http.Response {
		body := frame(data, 65536, false, trailer)
		req, _ := http.NewRequest(http.MethodPut, e.http.URL+"/images/"+key, bytes.NewReader(body))
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := send("upload/t.jpg", crcTrailer(data)); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	out, got := get(t, e.client, "upload/t.jpg")
	if !bytes.Equal(got, data) || out.ContentEncoding != nil {
		t.Fatalf("got %d bytes, Content-Encoding %v", len(got), out.ContentEncoding)
	}
	if evs := k.take(); len(evs) != 1 || evs[0].Detail.Object.Size != int64(len(data)) {
		t.Fatalf("events %+v", evs)
	}
	if resp := send("upload/bad.jpg", crcTrailer([]byte("nope"))); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad checksum: status %d", resp.StatusCode)
	}
	if len(k.take()) != 0 {
		t.Fatal("a refused upload raised an event")
	}
}

func FuzzChunkedReader(f *testing.F) {
	f.Add(frame([]byte("hello world"), 4, false, crcTrailer([]byte("hello world"))))
	f.Add(frame([]byte("hello"), 2, true, ""))
	f.Add([]byte("ffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newChunkedReader(bytes.NewReader(b), "x-amz-checksum-crc32,x-amz-checksum-sha256")
		n, _ := io.Copy(io.Discard, io.LimitReader(r, int64(len(b))+1))
		if n > int64(len(b)) {
			t.Fatalf("decoded %d bytes from %d", n, len(b))
		}
	})
}
