package s3edge

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// S3's limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html,
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
const (
	maxKeyBytes      = 1024    // "the name for a key is a sequence of Unicode characters whose UTF-8 encoding is at most 1,024 bytes long"
	maxPutSize       = 5 << 30 // PutObject and UploadPart: 5 GiB
	maxObjectSize    = 5 << 40 // CompleteMultipartUpload: 5 TiB
	minPartSize      = 5 << 20 // every part but the last: 5 MiB
	maxPartNumber    = 10000
	maxDeleteKeys    = 1000
	maxUserMetadata  = 2 << 10 // user-defined metadata, keys and values in UTF-8
	maxListedUploads = 1000
	maxListedParts   = 1000
)

// checkKeyEncoding refuses a key that is not UTF-8, as S3 refuses the request URI
// (400 InvalidURI, whatever the operation).
func checkKeyEncoding(key string) error {
	if !utf8.ValidString(key) {
		return errInvalidURI()
	}
	return nil
}

// checkKeyLength refuses a key longer than S3 stores.
func checkKeyLength(key string) error {
	if len(key) > maxKeyBytes {
		e := newError(400, "KeyTooLongError", "Your key is too long")
		e.Size, e.MaxSizeAllowed = strconv.Itoa(len(key)), strconv.Itoa(maxKeyBytes)
		return e
	}
	return nil
}

// EventKey encodes an object key as S3 writes it into its event notifications:
// "application/x-www-form-urlencoded" per S3's documentation ("red flower.jpg"
// becomes "red+flower.jpg"), every byte of the UTF-8 key percent-encoded in
// upper-case hex except ASCII letters, digits, '-', '_', '.', '*' and the '/'
// delimiter. Recorded AWS events agree: "a@b" → "a%40b", "year=2025/…" →
// "year%3D2025/…", "a + b" → "a+%2B+b". pipeline.ObjectEvent.Key decodes it.
func EventKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + len(key)/2)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '*', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
