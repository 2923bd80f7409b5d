package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// JPEGQuality is the thumbnail encoding quality: small files, no visible blocking at
// thumbnail sizes.
const JPEGQuality = 85

// EncodeJPEG encodes m as a baseline JPEG with no metadata segments (the standard
// encoder writes none), so the same pixels always give the same bytes.
func EncodeJPEG(m image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}
