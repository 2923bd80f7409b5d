// Package heifwasm installs the HEIC and AVIF pixel decoders in imaging: libheif
// with libde265, and libavif with libaom, compiled to WebAssembly and run by wazero
// (github.com/gen2brain/heic and /avif), so the binaries stay free of cgo and static.
// Import it for its side effect in a binary that makes pixels from phone photos
// (make-thumbnail, detect-labels, the CLI); the others stay a few megabytes smaller.
//
// Build with the tag nodynamic: without it those packages link purego to try a
// system libheif/libavif first, which makes a CGO_ENABLED=0 binary dynamically
// linked.
//
// The WebAssembly modules are compiled on the first image that needs them (about
// 0.5 s for libheif on this machine), not at start, so a cold start that sees no
// phone photo does not pay for them.
package heifwasm

import (
	"bytes"
	"image"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"

	"github.com/imagepipe/imagepipe/functions/imaging"
)

func init() {
	imaging.InstallHEIFCodecs(imaging.HEIFCodecs{HEIC: decodeHEIC, AVIF: decodeAVIF})
}

func decodeHEIC(file []byte) (image.Image, error) { return heic.Decode(bytes.NewReader(file)) }

func decodeAVIF(file []byte) (image.Image, error) { return avif.Decode(bytes.NewReader(file)) }
