package imaging

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"io"
	"sync"

	"github.com/imagepipe/imagepipe/functions/imaging/heif"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// HEIFCodecs are the pixel decoders of the HEIF family. They are WebAssembly builds
// of libheif and libavif, a few megabytes of binary, so only the binaries that make
// pixels from phone photos link them (package imaging/heifwasm installs them);
// everywhere else HEIC and AVIF are read for their facts only, and decoding their
// pixels is an UnsupportedFormatError.
type HEIFCodecs struct {
	// HEIC decodes a HEIC file holding one HEVC image (one tile, no transformations)
	// to its stored pixels.
	HEIC func(file []byte) (image.Image, error)
	// AVIF decodes an AVIF file's primary image to its stored pixels (irot and imir
	// not applied).
	AVIF func(file []byte) (image.Image, error)
}

var codecs struct {
	sync.Mutex
	c HEIFCodecs
}

// InstallHEIFCodecs makes c the decoders of HEIC and AVIF pixels in this process.
func InstallHEIFCodecs(c HEIFCodecs) {
	codecs.Lock()
	defer codecs.Unlock()
	codecs.c = c
}

func heifCodecs() HEIFCodecs {
	codecs.Lock()
	defer codecs.Unlock()
	return codecs.c
}

// IsHEIF reports whether format is one of the HEIF family (HEIC, HEIF, AVIF).
func IsHEIF(format string) bool { return format == HEIC || format == HEIF || format == AVIF }

// HEIFInfo reads the structure of a HEIF file of size bytes behind r (see package
// heif), with errors as the pipeline's types (or r's own).
func HEIFInfo(r io.ReaderAt, size int64, format string) (heif.Info, error) {
	info, err := heif.Parse(r, size)
	if err != nil {
		return info, heifErr(format, err)
	}
	return info, nil
}

// heifConfig reads a HEIF file's size from its meta box. r need not hold the whole
// file: the meta box comes before the image data in the files phones write.
func heifConfig(format string, r io.Reader) (image.Config, error) {
	ra, ok := r.(interface {
		io.ReaderAt
		Size() int64
	})
	var size int64
	if ok {
		size = ra.Size() // a file in memory: read in place
	} else {
		data, err := io.ReadAll(io.LimitReader(r, 8<<20))
		if err != nil {
			return image.Config{}, &pipeline.TransientError{Op: "read image", Err: err}
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	info, err := HEIFInfo(ra, size, format)
	if err != nil {
		return image.Config{}, err
	}
	m := color.Model(color.YCbCrModel)
	if info.Chroma == 0 {
		m = color.GrayModel
	}
	return image.Config{ColorModel: m, Width: info.Width, Height: info.Height}, nil
}

// heifErr maps a heif package error to the pipeline's types.
func heifErr(format string, err error) error {
	var ue *heif.UnsupportedError
	switch {
	case errors.As(err, &ue):
		return unsupported(format, err)
	case !heif.IsFormatError(err) && !heif.IsTruncated(err):
		return err // the reader's own failure
	case heif.IsTruncated(err):
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("header: %w", io.ErrUnexpectedEOF)}
	}
	return &pipeline.CorruptImageError{Format: format, Err: err}
}

func unsupportedHere(format string) error {
	return &pipeline.UnsupportedFormatError{Format: format + " (no pixel decoder in this binary)"}
}

func bytesReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }

// heicScale is the reduction a tiled decode uses: the largest k that divides the
// tiles (so that no k×k block straddles two) and keeps the longer side at least
// minSide. A single coded image can take any k.
func heicScale(w, h, tw, th, tiles, minSide int) int {
	if minSide <= 0 {
		return 1
	}
	for k := max(w, h) / minSide; k > 1; k-- {
		if tiles == 1 || (tw%k == 0 && th%k == 0) {
			return k
		}
	}
	return 1
}

// decodeHEIC decodes a HEIC's tiles, a few at a time, each reduced by k straight
// into the output: the pixels held at once are the output's and one tile's per
// worker, whatever the photo's size.
func decodeHEIC(format string, data []byte, k int, dec func([]byte) (image.Image, error)) (image.Image, error) {
	l, err := heif.Tiles(data)
	if err != nil {
		return nil, heifErr(format, err)
	}
	full := image.Rect(0, 0, l.Width, l.Height)
	dst := image.NewRGBA(image.Rect(0, 0, ceilDiv(l.Width, k), ceilDiv(l.Height, k)))
	jobs := make(chan int)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error // the first tile that failed: the rest are not decoded
	)
	for range heifWorkers(l.Len()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := decodeTile(format, data, l, i, k, full, dst, dec); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range l.Len() {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return dst, nil
}

// decodeTile decodes tile i and draws it, reduced by k, into its place in dst.
func decodeTile(format string, data []byte, l *heif.Layout, i, k int, full image.Rectangle, dst *image.RGBA, dec func([]byte) (image.Image, error)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("tile %d: decoder panic: %v", i, p)}
		}
	}()
	file, err := l.Tile(data, i)
	if err != nil {
		return heifErr(format, err)
	}
	img, err := dec(file)
	if err != nil {
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("tile %d: %w", i, err)}
	}
	if b := img.Bounds(); b.Dx() != l.TileWidth || b.Dy() != l.TileHeight {
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("tile %d decoded as %v, declared %dx%d", i, b.Size(), l.TileWidth, l.TileHeight)}
	}
	at := image.Pt(i%l.Cols*l.TileWidth, i/l.Cols*l.TileHeight)
	part := image.Rectangle{Min: at, Max: at.Add(image.Pt(l.TileWidth, l.TileHeight))}.Intersect(full)
	if part.Empty() {
		return nil
	}
	src := subImage(img, part.Sub(at).Add(img.Bounds().Min))
	var small *image.RGBA
	if k >= 2 {
		small = boxReduce(src, k)
	} else {
		small = toRGBA(src)
	}
	to := image.Rectangle{Min: at.Div(k), Max: at.Div(k).Add(small.Bounds().Size())}
	stddraw.Draw(dst, to, small, small.Bounds().Min, stddraw.Src)
	return nil
}

func subImage(m image.Image, r image.Rectangle) image.Image {
	if s, ok := m.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return m
}

// decodeAVIF decodes an AVIF whole, then reduces it for minSide at once so that
// the decoder's memory can go.
func decodeAVIF(format string, data []byte, minSide int, dec func([]byte) (image.Image, error)) (image.Image, error) {
	img, err := dec(data)
	if err != nil {
		return nil, &pipeline.CorruptImageError{Format: format, Err: err}
	}
	b := img.Bounds()
	if k := max(b.Dx(), b.Dy()) / max(minSide, 1); minSide > 0 && k >= 2 {
		return boxReduce(img, k), nil
	}
	return img, nil
}
