package imaging

import (
	"encoding/binary"
	"image"
	"image/color"
	"runtime"

	"github.com/imagepipe/imagepipe/functions/imaging/heif"
	"github.com/imagepipe/imagepipe/functions/imaging/jpegscale"
)

// A plan is how one image will be decoded, and what that holds at most: the
// decoder's working set and output, plus what resizing the output for a box of
// minSide allocates (see resizeCost). Costs are upper bounds worked out from each
// decoder's allocations and checked against measured allocations by the tests
// (TestDecodeCostBoundsAllocations); nothing here allocates for pixels.
type plan struct {
	bytes  int64
	decode func(data []byte) (image.Image, error)
}

// bytesPerPixel is what a standard decoder's output image holds per pixel.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4 at most
	case color.NYCbCrAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4 // RGBA, NRGBA, CMYK
}

// planFor works out the plan for an image whose header gave cfg.
func planFor(format string, data []byte, cfg image.Config, minSide int) (plan, error) {
	px := int64(cfg.Width) * int64(cfg.Height)
	out := bytesPerPixel(cfg.ColorModel)
	std := func(work int64) plan {
		dec, _ := decoderFor(format)
		// A decoded image that is not RGBA (or YCbCr, read directly) is converted
		// a strip at a time when reduced, whole when resized without reduction.
		return plan{
			bytes:  px*(out+work) + resizeCost(cfg.Width, cfg.Height, minSide, cfg.ColorModel != color.RGBAModel),
			decode: func(d []byte) (image.Image, error) { return stdDecode(format, dec, d) },
		}
	}
	switch format {
	case JPEG:
		return planJPEG(data, cfg, minSide)
	case PNG:
		if pngInterlaced(data) {
			return std(out), nil // each pass decoded apart, then copied in
		}
		return std(0), nil
	case GIF, BMP: // the first frame; one buffer
		return std(0), nil
	case TIFF:
		// The whole file is read into the decoder's buffer, and a compressed strip
		// is inflated whole before its pixels are stored (one strip can be the
		// whole image), through a buffer that grows by copying: up to five times
		// the strip allocated in all.
		p := std(5 * out)
		p.bytes += 3 * int64(len(data))
		return p, nil
	case WebP:
		// Not measured (no WebP encoder at hand to make files): read off
		// golang.org/x/image/webp's allocations, with room to spare.
		if cfg.ColorModel == color.NRGBAModel {
			return std(8), nil // lossless: ARGB words and transform buffers
		}
		return std(1), nil
	case HEIC, HEIF, AVIF:
		return planHEIF(format, data, minSide)
	}
	return plan{}, nil
}

// planJPEG decodes with jpegscale when it reads the frame, else with the standard
// decoder, and only then: a file jpegscale refuses as damaged is not decoded again
// at full size (a 1 KB file declaring 10000×10000 cost gigabytes that way).
func planJPEG(data []byte, cfg image.Config, minSide int) (plan, error) {
	jp, err := jpegscale.PlanBytes(data, minSide)
	if err == nil && minSide > 0 {
		sz := jp.Size()
		return plan{
			bytes: jp.Bytes + resizeCost(sz.X, sz.Y, minSide, jp.Components == 1),
			decode: func(d []byte) (image.Image, error) {
				img, _, err := jpegscale.DecodeBytes(d, minSide)
				if err != nil {
					return nil, classifyScaled(err)
				}
				return img, nil
			},
		}, nil
	}
	if err != nil && !jpegscale.IsUnsupported(err) {
		return plan{}, classifyScaled(err)
	}
	// The standard decoder: planes for up to four components padded to whole
	// 32-pixel MCUs and a CMYK output image for a four-component file, plus 256
	// bytes of coefficients per block and component for a progressive one.
	padded := int64((cfg.Width+31)&^31) * int64((cfg.Height+31)&^31)
	per := int64(8)
	if jp.Progressive || jp.Components == 0 {
		per += 16
	}
	dec, _ := decoderFor(JPEG)
	return plan{
		bytes:  padded*per + resizeCost(cfg.Width, cfg.Height, minSide, true),
		decode: func(d []byte) (image.Image, error) { return stdDecode(JPEG, dec, d) },
	}, nil
}

// classifyScaled maps a jpegscale error: a feature it lacks is an unsupported
// format, anything else corrupt.
func classifyScaled(err error) error {
	if jpegscale.IsUnsupported(err) {
		return unsupported(JPEG, err)
	}
	return corrupt(JPEG, "decode", err)
}

// pngInterlaced reads the interlace method from a PNG's IHDR (checked by the header
// decoder already).
func pngInterlaced(data []byte) bool {
	return len(data) >= 29 && binary.BigEndian.Uint32(data[8:12]) == 13 && data[28] == 1
}

// resizeCost is what Resize allocates fitting a w×h image into box×box, following
// its steps: a reduced copy (or a whole RGBA conversion of an image that is not
// RGBA, when there is no reduction), the resampler's intermediate rows, and the
// result, turned and encoded (two more copies). box <= 0 counts a whole conversion.
func resizeCost(w, h, box int, convert bool) int64 {
	full := int64(w) * int64(h) * 4
	if box <= 0 {
		return full
	}
	tw, th := FitSize(w, h, box)
	sw, sh := w, h
	var src int64
	if k := max(w/tw, h/th) / 2; k >= 2 {
		sw, sh = ceilDiv(w, k), ceilDiv(h, k)
		src = int64(sw) * int64(sh) * 4
		if convert {
			src += int64(w) * int64(k) * 4 // one strip of k rows
		}
	} else if convert {
		src = full
	}
	mid := int64(sh) * int64(tw) * 8
	dst := int64(tw) * int64(th) * 4
	return src + mid + 3*dst + 64<<10
}

// HEIF pixels: HEIC tiles are decoded one at a time per worker, each reduced
// straight into the output (decodeHEIC); an AVIF is decoded whole.
const (
	// heicTileOverhead is one WebAssembly decoder instance's memory beyond its
	// tile's pixels: libheif and libde265 state and the instance's linear memory,
	// which grows by reallocation (old and new copies live at once). Measured: 8 MB
	// allocated per 512×512 tile, a peak of up to 45 MB per worker.
	heicTileOverhead = 48 << 20
	// heicTileBytesPerPixel covers the tile's coded data, the decoder's planes, its
	// 8-bit copy, the copy out of the instance and the Go-side YCbCr, at up to 16
	// bits a sample.
	heicTileBytesPerPixel = 24
	// avifBytesPerPixel and avifOverhead cover an AVIF decoded whole inside its
	// instance (libaom's frame buffers, the RGB conversion, the output copy) and the
	// instance's memory growing by reallocation. Measured peaks: 35 MB for 0.06 MP,
	// 72 MB for 1 MP, 233 MB for 3.8 MP, 702 MB for 12 MP.
	avifBytesPerPixel = 60
	avifOverhead      = 40 << 20
)

// heifWorkers is how many HEIC tiles decode at once.
func heifWorkers(tiles int) int { return max(1, min(runtime.GOMAXPROCS(0), 4, tiles)) }

func planHEIF(format string, data []byte, minSide int) (plan, error) {
	info, err := heif.Parse(bytesReaderAt(data), int64(len(data)))
	if err != nil {
		return plan{}, heifErr(format, err)
	}
	codecs := heifCodecs()
	switch info.Codec {
	case "hvc1":
		if codecs.HEIC == nil {
			return plan{}, unsupportedHere(format)
		}
		k := heicScale(info.Width, info.Height, info.TileWidth, info.TileHeight, info.Tiles, minSide)
		ow, oh := ceilDiv(info.Width, k), ceilDiv(info.Height, k)
		tile := int64(info.TileWidth)*int64(info.TileHeight)*heicTileBytesPerPixel + heicTileOverhead
		return plan{
			bytes: int64(heifWorkers(info.Tiles))*tile + int64(ow)*int64(oh)*4 +
				resizeCost(ow, oh, minSide, false) + 2*int64(len(data)),
			decode: func(d []byte) (image.Image, error) { return decodeHEIC(format, d, k, codecs.HEIC) },
		}, nil
	case "av01":
		if codecs.AVIF == nil {
			return plan{}, unsupportedHere(format)
		}
		px := int64(info.Width) * int64(info.Height)
		return plan{
			bytes:  px*avifBytesPerPixel + avifOverhead + 4*int64(len(data)) + resizeCost(info.Width, info.Height, minSide, false),
			decode: func(d []byte) (image.Image, error) { return decodeAVIF(format, d, minSide, codecs.AVIF) },
		}, nil
	}
	return plan{}, unsupported(format, &heif.UnsupportedError{What: info.Codec})
}
