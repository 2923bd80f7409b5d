package metadata

import (
	"encoding/json"
	"fmt"
	"sort"
	"unicode/utf8"
)

// The EXIF map travels in the Step Functions state (the Parallel state's output,
// then index-document's input), which AWS caps at 256 KiB: a crafted file with a
// hundred 1 KB text tags of characters JSON escapes six times over would fail the
// execution with an error no Catch sees. So the map is bounded as JSON: each value
// to maxValueJSON bytes, the whole to maxEXIFJSON, the tags that matter to a reader
// kept first. What was left out is said in exifError.
const (
	maxValueJSON = 1 << 10
	maxEXIFJSON  = 16 << 10
)

// keepFirst are the tags admitted before all others, in this order.
var keepFirst = []string{
	"Make", "Model", "Orientation", "DateTimeOriginal", "OffsetTimeOriginal", "DateTime",
	"OffsetTime", "DateTimeDigitized", "OffsetTimeDigitized", "SubSecTimeOriginal",
	"GPSLatitudeRef", "GPSLatitude", "GPSLongitudeRef", "GPSLongitude", "GPSAltitudeRef",
	"GPSAltitude", "GPSDateStamp", "GPSTimeStamp", "ExposureTime", "FNumber",
	"ISOSpeedRatings", "FocalLength", "FocalLengthIn35mmFilm", "LensMake", "LensModel",
	"Flash", "ExposureProgram", "ExposureBiasValue", "MeteringMode", "WhiteBalance",
	"PixelXDimension", "PixelYDimension", "ColorSpace", "Software", "Artist", "Copyright",
}

// jsonLen is the length of v encoded as encoding/json encodes it (HTML-escaped).
func jsonLen(v string) int {
	b, _ := json.Marshal(v)
	return len(b)
}

// shorten cuts s to the longest prefix whose JSON encoding is at most max bytes.
func shorten(s string, max int) string {
	if jsonLen(s) <= max {
		return s
	}
	n := 2 // the quotes
	for i, r := range s {
		w := jsonLen(string(r)) - 2
		if r == utf8.RuneError {
			w = 6
		}
		if n+w > max {
			return s[:i]
		}
		n += w
	}
	return s
}

// boundTags returns tags bounded as the package comment says, and a note of what
// was left out ("" when nothing was).
func boundTags(tags map[string]string) (map[string]string, string) {
	if tags == nil {
		return nil, ""
	}
	order := make([]string, 0, len(tags))
	first := map[string]bool{}
	for _, k := range keepFirst {
		if _, ok := tags[k]; ok {
			order = append(order, k)
			first[k] = true
		}
	}
	rest := make([]string, 0, len(tags))
	for k := range tags {
		if !first[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	order = append(order, rest...)

	kept := make(map[string]string, len(tags))
	total, shortened, dropped := 2, 0, 0 // the braces
	for _, k := range order {
		v := shorten(tags[k], maxValueJSON)
		if v != tags[k] {
			shortened++
		}
		n := jsonLen(k) + 1 + jsonLen(v) + 1 // "key":"value",
		if total+n > maxEXIFJSON {
			dropped++
			continue
		}
		kept[k] = v
		total += n
	}
	if shortened == 0 && dropped == 0 {
		return kept, ""
	}
	return kept, fmt.Sprintf("exif truncated to fit the state payload: %d of %d tags kept within %d bytes, %d values cut to %d bytes",
		len(kept), len(tags), maxEXIFJSON, shortened, maxValueJSON)
}
