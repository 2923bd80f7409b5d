package metadata

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rwcarlsen/goexif/exif"
	"github.com/rwcarlsen/goexif/tiff"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// exifFacts is what the EXIF block yields for the document.
type exifFacts struct {
	tags        map[string]string
	orientation int
	takenAt     string
	camera      *pipeline.Camera
	location    *pipeline.Location
	truncated   string // what boundTags left out, or ""
}

// Tags the standard tables of goexif lack; loaded from the Exif sub-IFD by id.
var offsetTimeFields = map[uint16]exif.FieldName{
	0x9010: "OffsetTime",
	0x9011: "OffsetTimeOriginal",
	0x9012: "OffsetTimeDigitized",
}

// Tags left out of the document: IFD pointers, binary blobs, vendor data.
var skipTags = map[exif.FieldName]bool{
	exif.ExifIFDPointer:                   true,
	exif.GPSInfoIFDPointer:                true,
	exif.InteroperabilityIFDPointer:       true,
	exif.MakerNote:                        true,
	exif.ThumbJPEGInterchangeFormat:       true,
	exif.ThumbJPEGInterchangeFormatLength: true,
	"PrintImageMatching":                  true,
}

const (
	maxTagValues = 32   // values shown for a multi-valued tag
	maxTagString = 1024 // characters kept of a text tag
)

// readEXIF decodes a TIFF-structured EXIF block. goexif panics on some malformed
// input and loops on some IFD cycles, so the block is copied, its IFD chain cut after
// the two IFDs that EXIF defines, and decoding runs under recover. Whatever decoded
// before an error is kept: corrupt EXIF gives partial facts, never a failure.
func readEXIF(raw []byte) (facts exifFacts, err error) {
	raw = bytes.TrimPrefix(raw, []byte("Exif\x00\x00"))
	if len(raw) < 8 {
		return facts, fmt.Errorf("exif block of %d bytes", len(raw))
	}
	raw = cutIFDChain(bytes.Clone(raw))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("exif decoder panic: %v", p)
		}
	}()
	x, derr := exif.Decode(bytes.NewReader(raw))
	if x == nil {
		return facts, fmt.Errorf("exif: %w", derr)
	}
	loadOffsetTimes(x)
	facts = collect(x)
	return facts, derr
}

// cutIFDChain ends the IFD chain after IFD1 (or IFD0 when it points to itself), so a
// cycle cannot make the decoder loop.
func cutIFDChain(raw []byte) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	if raw[0] == 'M' {
		order = binary.BigEndian
	}
	next := func(ifd uint32) (pos int, val uint32, ok bool) {
		if int64(ifd)+2 > int64(len(raw)) {
			return 0, 0, false
		}
		n := int(order.Uint16(raw[ifd:]))
		pos = int(ifd) + 2 + 12*n
		if pos+4 > len(raw) {
			return 0, 0, false
		}
		return pos, order.Uint32(raw[pos:]), true
	}
	ifd0 := order.Uint32(raw[4:8])
	pos0, ifd1, ok := next(ifd0)
	if !ok || ifd1 == 0 {
		return raw
	}
	if ifd1 == ifd0 {
		order.PutUint32(raw[pos0:], 0)
		return raw
	}
	if pos1, _, ok := next(ifd1); ok {
		order.PutUint32(raw[pos1:], 0)
	}
	return raw
}

// loadOffsetTimes adds the OffsetTime* tags from the Exif sub-IFD.
func loadOffsetTimes(x *exif.Exif) {
	tag, err := x.Get(exif.ExifIFDPointer)
	if err != nil {
		return
	}
	off, err := tag.Int64(0)
	if err != nil || off <= 0 || off >= int64(len(x.Raw)) {
		return
	}
	r := bytes.NewReader(x.Raw)
	if _, err := r.Seek(off, 0); err != nil {
		return
	}
	dir, _, err := tiff.DecodeDir(r, x.Tiff.Order)
	if err != nil {
		return
	}
	x.LoadTags(dir, offsetTimeFields, false)
}

type walker func(exif.FieldName, *tiff.Tag) error

func (w walker) Walk(name exif.FieldName, tag *tiff.Tag) error { return w(name, tag) }

func collect(x *exif.Exif) exifFacts {
	f := exifFacts{tags: map[string]string{}}
	_ = x.Walk(walker(func(name exif.FieldName, tag *tiff.Tag) error {
		if skipTags[name] || strings.HasPrefix(string(name), exif.UnknownPrefix) {
			return nil
		}
		v, ok := tagString(tag)
		if name == exif.UserComment {
			v, ok = userComment(tag.Val)
		}
		if ok {
			f.tags[standardName(name)] = v
		}
		return nil
	}))
	if len(f.tags) == 0 {
		f.tags = nil
	}
	if tag, err := x.Get(exif.Orientation); err == nil && tag.Count > 0 {
		if o, err := tag.Int(0); err == nil && o >= 1 && o <= 8 {
			f.orientation = o
		}
	}
	f.takenAt = takenAt(f.tags["DateTimeOriginal"], f.tags["OffsetTimeOriginal"])
	mk, model := shorten(cleanText(f.tags["Make"]), maxValueJSON), shorten(cleanText(f.tags["Model"]), maxValueJSON)
	if mk != "" || model != "" {
		f.camera = &pipeline.Camera{Make: mk, Model: model}
	}
	f.location = gpsLocation(x)
	f.tags, f.truncated = boundTags(f.tags)
	return f
}

// tagString renders a tag's value readably: text trimmed, rationals as fractions or
// decimals, lists joined with ", ". Binary values that are not text are left out.
func tagString(tag *tiff.Tag) (string, bool) {
	n := min(int(tag.Count), maxTagValues)
	vals := make([]string, 0, n)
	switch tag.Format() {
	case tiff.StringVal:
		s, err := tag.StringVal()
		if err != nil {
			return "", false
		}
		s = cleanText(s)
		return s, s != ""
	case tiff.UndefVal:
		s := cleanText(string(tag.Val))
		if s == "" || !printable(s) {
			return "", false
		}
		return s, true
	case tiff.IntVal:
		for i := range n {
			v, err := tag.Int64(i)
			if err != nil {
				return "", false
			}
			vals = append(vals, strconv.FormatInt(v, 10))
		}
	case tiff.RatVal:
		for i := range n {
			num, den, err := tag.Rat2(i)
			if err != nil {
				return "", false
			}
			vals = append(vals, ratString(num, den))
		}
	case tiff.FloatVal:
		for i := range n {
			v, err := tag.Float(i)
			if err != nil {
				return "", false
			}
			vals = append(vals, strconv.FormatFloat(v, 'g', 6, 64))
		}
	default:
		return "", false
	}
	if len(vals) == 0 {
		return "", false
	}
	return strings.Join(vals, ", "), true
}

// standardName corrects goexif's spelling where it differs from the EXIF standard.
func standardName(n exif.FieldName) string {
	if n == "GPSSatelites" {
		return "GPSSatellites"
	}
	return string(n)
}

// userComment decodes UserComment: an 8-byte character code, then the text. Only
// ASCII (or an undefined code holding plain text) is shown.
func userComment(val []byte) (string, bool) {
	if len(val) <= 8 {
		return "", false
	}
	code := strings.TrimRight(string(val[:8]), "\x00 ")
	if code != "ASCII" && code != "" {
		return "", false
	}
	s := cleanText(string(val[8:]))
	return s, s != "" && printable(s)
}

// ratString shows 1/125 as "1/125" (exposure times), 28/10 as "2.8", 72/1 as "72".
func ratString(num, den int64) string {
	switch {
	case den == 0:
		return fmt.Sprintf("%d/0", num)
	case num%den == 0:
		return strconv.FormatInt(num/den, 10)
	case num > 0 && den > num && den%num == 0:
		return fmt.Sprintf("1/%d", den/num)
	}
	return strconv.FormatFloat(float64(num)/float64(den), 'g', 6, 64)
}

// cleanText drops NULs, invalid UTF-8 and surrounding space, and bounds the length.
func cleanText(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > maxTagString {
		s = string([]rune(s)[:maxTagString])
	}
	return s
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// takenAt turns EXIF "2006:01:02 15:04:05" (plus an optional "+02:00" offset) into
// RFC 3339. EXIF times are local time; with no OffsetTimeOriginal the zone is
// unknown, and UTC is assumed and written, so the value stays a valid timestamp.
func takenAt(dt, offset string) string {
	if dt == "" || strings.HasPrefix(dt, "0000") {
		return ""
	}
	if len(dt) > 19 {
		dt = dt[:19] // some cameras append subseconds or a NUL-padded tail
	}
	loc := time.UTC
	if o, err := time.Parse("-07:00", strings.TrimSpace(offset)); err == nil {
		loc = o.Location()
	}
	t, err := time.ParseInLocation("2006:01:02 15:04:05", dt, loc)
	if err != nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// gpsLocation reads GPSLatitude/GPSLongitude (degrees, minutes, seconds) with their
// N/S and E/W references into signed decimal degrees; nil when absent or invalid.
func gpsLocation(x *exif.Exif) *pipeline.Location {
	lat, ok1 := gpsCoord(x, exif.GPSLatitude, exif.GPSLatitudeRef, "S", 90)
	lon, ok2 := gpsCoord(x, exif.GPSLongitude, exif.GPSLongitudeRef, "W", 180)
	if !ok1 || !ok2 {
		return nil
	}
	return &pipeline.Location{Lat: lat, Lon: lon}
}

func gpsCoord(x *exif.Exif, name, refName exif.FieldName, negative string, limit float64) (float64, bool) {
	tag, err := x.Get(name)
	if err != nil || tag.Format() != tiff.RatVal || tag.Count < 1 {
		return 0, false
	}
	var v float64
	for i, scale := range []float64{1, 60, 3600} {
		if i >= int(tag.Count) {
			break
		}
		num, den, err := tag.Rat2(i)
		if err != nil || den == 0 {
			return 0, false
		}
		v += float64(num) / float64(den) / scale
	}
	ref, err := x.Get(refName)
	if err != nil {
		return 0, false // a coordinate without its hemisphere is ambiguous
	}
	r, _ := ref.StringVal()
	if strings.EqualFold(strings.TrimSpace(strings.Trim(r, "\x00")), negative) {
		v = -v
	}
	if math.IsNaN(v) || math.Abs(v) > limit {
		return 0, false
	}
	return math.Round(v*1e7) / 1e7, true
}
