package imaging

import (
	"bytes"
	"encoding/binary"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Format names, as reported in metadata and used to pick a decoder.
const (
	JPEG = "jpeg"
	PNG  = "png"
	GIF  = "gif"
	WebP = "webp"
	TIFF = "tiff"
	BMP  = "bmp"
	// The HEIF family, named by the brands of its ftyp box: HEIC (HEVC-coded, the
	// default of iPhones), AVIF (AV1-coded) and HEIF (a brand naming neither; the
	// primary image's codec decides how it decodes).
	HEIC = "heic"
	HEIF = "heif"
	AVIF = "avif"
)

// SniffLen is how many leading bytes Sniff needs to recognise every format.
const SniffLen = 32

// Sniff names the format of an image from its first bytes (magic numbers, never the
// file name); HEIC/HEIF/AVIF from their ftyp brands. Empty or unknown bytes are a
// *pipeline.NotAnImageError.
func Sniff(head []byte) (string, error) {
	switch {
	case len(head) == 0:
		return "", &pipeline.NotAnImageError{Reason: "zero-byte object"}
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF, nil
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return WebP, nil
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return TIFF, nil
	case len(head) >= 14 && string(head[:2]) == "BM":
		return BMP, nil
	}
	if brand, ok := isoBrand(head); ok {
		return brand, nil
	}
	return "", &pipeline.NotAnImageError{Reason: "unrecognised leading bytes"}
}

// isoBrand recognises an ISO base media file (HEIF family) by its leading ftyp box and
// names the image format its brands declare.
func isoBrand(head []byte) (string, bool) {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return "", false
	}
	size := int(binary.BigEndian.Uint32(head[:4]))
	if size < 16 || size > len(head) {
		size = len(head)
	}
	// The major brand, then the compatible brands (skipping minor_version).
	brands := [][]byte{head[8:12]}
	for i := 16; i+4 <= size; i += 4 {
		brands = append(brands, head[i:i+4])
	}
	for _, b := range brands {
		switch string(b) {
		case "avif", "avis":
			return AVIF, true
		case "heic", "heix", "heim", "heis", "hevc", "hevx":
			return HEIC, true
		}
	}
	for _, b := range brands {
		switch string(b) {
		case "mif1", "msf1":
			return HEIF, true
		}
	}
	return "", false
}
