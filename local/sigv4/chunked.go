package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Limits on an aws-chunked body. A chunk is held whole until its signature is
// checked, so its size is bounded; S3 documents a minimum (8 KiB) and no maximum,
// and the SDKs send 64 KiB to 1 MiB.
const (
	maxChunkSize  = 16 << 20
	maxChunkLine  = 4096
	maxTrailerLen = 16 << 10
)

// chunkCheck passes an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with or
// without -TRAILER) through unchanged, framing included, and releases each chunk
// only once its chunk-signature, chained from the seed signature, is the one the
// secret gives; the trailer's x-amz-trailer-signature likewise. A wrong signature
// ends the body with a SignatureMismatch error before the chunk's bytes. Decoding
// the framing into the object's bytes is the S3 handler's business.
type chunkCheck struct {
	src     *bufio.Reader
	closer  io.Closer
	key     []byte
	head    string // "<amzDate>\n<scope>\n": the fixed middle of each string to sign
	prev    string // the previous signature: the seed, then each chunk's
	trailer bool
	out     bytes.Buffer // raw bytes checked and not yet read
	err     error
}

func newChunkCheck(src io.ReadCloser, key []byte, a *authInput, seed string, trailer bool) *chunkCheck {
	return &chunkCheck{
		src: bufio.NewReaderSize(src, 64<<10), closer: src, key: key,
		head: a.amzDate + "\n" + a.scope.String() + "\n", prev: seed, trailer: trailer,
	}
}

func (c *chunkCheck) Read(p []byte) (int, error) {
	for c.out.Len() == 0 && c.err == nil {
		c.err = c.next()
	}
	if c.out.Len() > 0 {
		return c.out.Read(p)
	}
	return 0, c.err
}

func (c *chunkCheck) Close() error { return c.closer.Close() }

// next checks one chunk and queues its raw bytes; io.EOF after the last one.
func (c *chunkCheck) next() error {
	if c.prev == "" {
		return io.EOF // the final chunk was delivered
	}
	line, err := c.line()
	if errors.Is(err, io.EOF) {
		return badChunk("body ends before the final chunk")
	}
	if err != nil {
		return err
	}
	sizeText, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(sizeText, 16, 64)
	sig, hasSig := strings.CutPrefix(ext, "chunk-signature=")
	switch {
	case err != nil || size < 0:
		return badChunk("bad chunk size %q", sizeText)
	case size > maxChunkSize:
		return refuse(BodyTooLarge, "aws-chunked chunk of %d bytes is over the twin's limit of %d", size, maxChunkSize)
	case !hasSig:
		return refuse(SignatureMismatch, "aws-chunked chunk without a chunk-signature")
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.src, data); err != nil {
		return truncated(err)
	}
	final := size == 0
	if !final || !c.trailer { // with trailers, the trailer lines follow "0;...\r\n" directly
		if err := c.crlf(); err != nil {
			return err
		}
	}
	want := sign(c.key, "AWS4-HMAC-SHA256-PAYLOAD\n"+c.head+c.prev+"\n"+emptyHash+"\n"+sha256Hex(data))
	if !sameSignature(want, sig) {
		return refuse(SignatureMismatch, "The request signature we calculated does not match the signature you provided: aws-chunked chunk signature mismatch")
	}
	c.prev = want
	c.out.WriteString(line + "\r\n")
	c.out.Write(data)
	if !final || !c.trailer {
		c.out.WriteString("\r\n")
	}
	if final {
		c.prev = ""
		if c.trailer {
			return c.trailers(want)
		}
	}
	return nil
}

// trailers checks the trailing headers against x-amz-trailer-signature, whose
// string to sign chains from the final chunk's signature.
func (c *chunkCheck) trailers(prev string) error {
	var canonical, raw strings.Builder
	var sig string
	for {
		line, err := c.line()
		if errors.Is(err, io.EOF) {
			break // some clients omit the final blank line
		}
		if err != nil {
			return err
		}
		raw.WriteString(line + "\r\n")
		if line == "" {
			break
		}
		if raw.Len() > maxTrailerLen {
			return badChunk("trailers too long")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return badChunk("bad trailer %q", line)
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			sig = value
			continue
		}
		canonical.WriteString(name + ":" + value + "\n")
	}
	if sig == "" {
		return refuse(SignatureMismatch, "aws-chunked trailer without x-amz-trailer-signature")
	}
	sum := sha256.Sum256([]byte(canonical.String()))
	want := sign(c.key, "AWS4-HMAC-SHA256-TRAILER\n"+c.head+prev+"\n"+hex.EncodeToString(sum[:]))
	if !sameSignature(want, sig) {
		return refuse(SignatureMismatch, "The request signature we calculated does not match the signature you provided: aws-chunked trailer signature mismatch")
	}
	c.out.WriteString(raw.String())
	return nil
}

func (c *chunkCheck) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.src, b[:]); err != nil {
		return truncated(err)
	}
	if b != [2]byte{'\r', '\n'} {
		return badChunk("missing CRLF after chunk data")
	}
	return nil
}

// line reads one CRLF-terminated line, without its CRLF.
func (c *chunkCheck) line() (string, error) {
	var b []byte
	for {
		frag, err := c.src.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxChunkLine {
			return "", badChunk("line too long")
		}
		switch {
		case err == nil:
			return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(b) == 0:
			return "", io.EOF
		default:
			return "", truncated(err)
		}
	}
}

// truncated keeps transport errors (a timeout, a closed connection) as they are,
// and calls a body that ends early a framing fault.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badChunk("body ends inside a chunk")
	}
	return err
}

func badChunk(format string, args ...any) error {
	return refuse(Malformed, "aws-chunked body: "+format, args...)
}
