// Package metadata reads an image's facts from its head: format, dimensions, EXIF
// orientation, colour space, EXIF tags by standard name, capture time, camera and
// GPS position. It reads through an io.ReaderAt so that callers decide how bytes
// arrive (a local file, or ranged GETs of an S3 object) and only what is needed is
// read. extract-metadata and `imagepipe inspect` share this code path.
package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"strings"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/heif"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// maxTIFFEXIF bounds what is handed to the EXIF decoder for a TIFF file (whose
// EXIF is the file's own IFD structure, near the start in practice).
const maxTIFFEXIF = 4 << 20

// Extract reads the facts of the image of size bytes behind r. Errors are the
// pipeline's types: NotAnImageError, UnsupportedFormatError, CorruptImageError,
// ImageTooLargeError, or whatever r itself returned (a storage error). Damaged EXIF
// is not an error: the image facts come back without it.
func Extract(r io.ReaderAt, size int64, lim imaging.Limits) (pipeline.Metadata, error) {
	md := pipeline.Metadata{Size: size}
	if err := lim.CheckBytes(size); err != nil {
		return md, err
	}
	if size == 0 {
		return md, &pipeline.NotAnImageError{Reason: "zero-byte object"}
	}
	s := &source{ra: r, size: size}
	head, err := s.read(0, min(size, imaging.SniffLen))
	if err != nil {
		return md, s.fail("", err)
	}
	format, err := imaging.Sniff(head)
	if err != nil {
		return md, err
	}
	md.Format = format

	var rawEXIF []byte
	orientation := 0 // from the container, where it has its own (HEIF)
	switch {
	case format == imaging.JPEG:
		info, err := scanJPEG(s)
		if err != nil {
			return md, s.fail(format, err)
		}
		md.Width, md.Height, md.ColorSpace = info.width, info.height, info.colorSpace()
		rawEXIF = info.exif
	case imaging.IsHEIF(format):
		info, err := imaging.HEIFInfo(s, size, format)
		if err != nil {
			return md, err
		}
		md.Width, md.Height, md.ColorSpace = info.Width, info.Height, "YCbCr"
		if info.Chroma == 0 {
			md.ColorSpace = "Gray"
		}
		orientation = info.Orientation()
		// Damaged or oversized Exif items are left out, as in PNG and WebP.
		rawEXIF, _ = heif.ReadExif(s, info, maxEXIF)
		if s.err != nil {
			return md, s.err
		}
	default:
		cfg, _, err := imaging.DecodeConfig(io.NewSectionReader(s, 0, size), imaging.Limits{MaxBytes: size, MaxPixels: 1 << 62, MaxSide: 1 << 30})
		if s.err != nil {
			return md, s.err
		}
		if err != nil {
			return md, err
		}
		md.Width, md.Height, md.ColorSpace = cfg.Width, cfg.Height, colorSpace(cfg.ColorModel)
		switch format {
		case imaging.PNG:
			rawEXIF = pngEXIF(s)
		case imaging.WebP:
			rawEXIF = webpEXIF(s)
		case imaging.TIFF:
			rawEXIF, _ = s.read(0, min(size, maxTIFFEXIF))
		}
		if s.err != nil {
			return md, s.err
		}
	}
	if err := lim.CheckDimensions(format, md.Width, md.Height); err != nil {
		return md, err
	}
	if rawEXIF != nil {
		// Damaged EXIF does not fail the image: what could be read is kept, and the
		// damage is said in exifError so that a user sees why facts are missing.
		facts, err := readEXIF(rawEXIF)
		var notes []string
		if err != nil {
			notes = append(notes, err.Error())
		}
		if facts.truncated != "" {
			notes = append(notes, facts.truncated)
		}
		md.EXIFError = shorten(strings.Join(notes, "; "), maxValueJSON)
		md.EXIF, md.Orientation, md.TakenAt = facts.tags, facts.orientation, facts.takenAt
		md.Camera, md.Location = facts.camera, facts.location
	}
	if orientation != 0 {
		// HEIF readers show the image as its irot and imir properties say and ignore
		// the EXIF tag (ISO/IEC 23008-12): so does the document.
		md.Orientation = orientation
	}
	return md, nil
}

// ExtractBytes is Extract over a file held in memory.
func ExtractBytes(data []byte, lim imaging.Limits) (pipeline.Metadata, error) {
	return Extract(bytes.NewReader(data), int64(len(data)), lim)
}

// fail reports a structural error: the reader's own failure if there was one,
// otherwise a corrupt image.
func (s *source) fail(format string, err error) error {
	if s.err != nil {
		return s.err
	}
	if errors.Is(err, errShort) {
		if format == "" {
			return &pipeline.NotAnImageError{Reason: "too short to be an image"}
		}
		return &pipeline.CorruptImageError{Format: format, Err: fmt.Errorf("header: %w", io.ErrUnexpectedEOF)}
	}
	return &pipeline.CorruptImageError{Format: format, Err: err}
}

// colorSpace names a decoder's colour model.
func colorSpace(m color.Model) string {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return "Gray"
	case color.RGBAModel, color.RGBA64Model, color.NRGBAModel, color.NRGBA64Model:
		return "RGB"
	case color.YCbCrModel, color.NYCbCrAModel:
		return "YCbCr"
	case color.CMYKModel:
		return "CMYK"
	}
	if _, ok := m.(color.Palette); ok {
		return "Indexed"
	}
	return ""
}
