package s3edge

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// Limits on the framing of an aws-chunked body; data chunks themselves are unbounded.
const (
	maxChunkLine    = 4096
	maxTrailerBytes = 16 << 10
)

// chunkedReader decodes an aws-chunked body (every STREAMING-* variant of
// x-amz-content-sha256: signed or unsigned chunks, with or without trailers) into
// the object's bytes. Chunk signatures are not verified (the edge verifies no
// signature at all); a trailing x-amz-checksum-* is, so a torn upload is refused.
type chunkedReader struct {
	r        *bufio.Reader
	remain   int64 // bytes left in the current chunk
	started  bool
	done     bool
	err      error
	sums     map[string]hash.Hash
	trailers map[string]string
}

func newChunkedReader(r io.Reader, trailerNames string) *chunkedReader {
	c := &chunkedReader{r: bufio.NewReaderSize(r, 64<<10), sums: map[string]hash.Hash{}}
	for _, name := range strings.Split(trailerNames, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if h := checksumHash(name); h != nil {
			c.sums[name] = h
		}
	}
	return c
}

func checksumHash(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil // crc64nvme and unknown algorithms are accepted unchecked
}

func badChunk(format string, args ...any) error {
	return gofakes3.ErrorMessagef(gofakes3.ErrIncompleteBody, "aws-chunked body: "+format, args...)
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	for c.remain == 0 && !c.done {
		if err := c.nextChunk(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if c.done {
		c.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.r.Read(p)
	c.remain -= int64(n)
	for _, h := range c.sums {
		h.Write(p[:n])
	}
	if err == io.EOF {
		err = badChunk("body ends inside a chunk")
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// nextChunk consumes the CRLF that ends the previous chunk and the next chunk
// header; on the final zero-length chunk it reads and checks the trailers.
func (c *chunkedReader) nextChunk() error {
	if c.started {
		if err := c.expectCRLF(); err != nil {
			return err
		}
	}
	c.started = true
	line, err := c.line()
	if err != nil {
		return err
	}
	sizeText, _, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	if err != nil || size < 0 {
		return badChunk("bad chunk size %q", sizeText)
	}
	if size > 0 {
		c.remain = size
		return nil
	}
	c.done = true
	return c.readTrailers()
}

func (c *chunkedReader) expectCRLF() error {
	var b [2]byte
	_, err := io.ReadFull(c.r, b[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if err != nil || b != [2]byte{'\r', '\n'} {
		return badChunk("missing CRLF after chunk")
	}
	return nil
}

// line reads one CRLF-terminated line of at most maxChunkLine bytes.
func (c *chunkedReader) line() (string, error) {
	var sb strings.Builder
	for {
		frag, err := c.r.ReadSlice('\n')
		sb.Write(frag)
		if sb.Len() > maxChunkLine {
			return "", badChunk("line too long")
		}
		switch {
		case err == nil:
			return strings.TrimRight(sb.String(), "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && sb.Len() == 0:
			return "", io.EOF
		case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
			return "", err // a read timeout, a closed connection: not a framing fault
		default:
			return "", badChunk("truncated line")
		}
	}
}

func (c *chunkedReader) readTrailers() error {
	c.trailers = map[string]string{}
	total := 0
	for {
		line, err := c.line()
		if errors.Is(err, io.EOF) {
			break // some clients omit the final blank line
		}
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		total += len(line)
		if total > maxTrailerBytes {
			return badChunk("trailers too long")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return badChunk("bad trailer %q", line)
		}
		c.trailers[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	for name, h := range c.sums {
		want, ok := c.trailers[name]
		if !ok {
			continue
		}
		if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
			return gofakes3.ErrorMessage(gofakes3.ErrBadDigest,
				fmt.Sprintf("%s mismatch: computed %s, trailer says %s", name, got, want))
		}
	}
	return nil
}

// isAWSChunked reports whether a request body is aws-chunked framed.
func isAWSChunked(contentSHA256, contentEncoding string) bool {
	if strings.HasPrefix(contentSHA256, "STREAMING-") {
		return true
	}
	for _, e := range strings.Split(contentEncoding, ",") {
		if strings.TrimSpace(e) == "aws-chunked" {
			return true
		}
	}
	return false
}

// stripAWSChunked removes aws-chunked from a Content-Encoding list: it describes
// the upload's framing, not the object.
func stripAWSChunked(v string) string {
	var keep []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}
