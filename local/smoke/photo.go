package smoke

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// The smoke photo is stored as a portrait of StoredWidth×StoredHeight pixels with EXIF
// orientation 6 (rotate 90° clockwise to view), so that it shows as a landscape and
// its thumbnail is 80×40 only when the orientation was applied. Each stored corner
// carries a colour block; after the rotation each must show in a known corner.
const (
	StoredWidth, StoredHeight = 160, 320
	Orientation               = 6
	ThumbnailWidth            = 80 // the thumbnail box (make-thumbnail's THUMBNAIL_SIZE default) fits the upright 320×160
	ThumbnailHeight           = 40
)

// The EXIF facts the photo carries, and so what its search document must say.
const (
	CameraMake  = "imagepipe"
	CameraModel = "smoke test"
	// TakenAt is DateTimeOriginal with OffsetTimeOriginal, as extract-metadata writes it.
	TakenAt = "2024-05-17T09:30:00+02:00"
	Lat     = 43.467
	Lon     = 11.885
)

// Marker colours of the stored corners (top-left, top-right, bottom-left, bottom-right).
var (
	red    = color.RGBA{230, 20, 20, 255}
	green  = color.RGBA{20, 200, 40, 255}
	blue   = color.RGBA{30, 40, 230, 255}
	yellow = color.RGBA{240, 220, 20, 255}
)

// corner names a corner of the upright image.
type corner int

const (
	topLeft corner = iota
	topRight
	bottomLeft
	bottomRight
)

func (c corner) String() string {
	return [...]string{"top-left", "top-right", "bottom-left", "bottom-right"}[c]
}

// marker is a named marker colour.
type marker struct {
	name string
	rgba color.RGBA
}

// uprightCorners is where each marker shows once orientation 6 is applied: the
// stored top-left (red) turns to the top-right, top-right (green) to the
// bottom-right, bottom-left (blue) to the top-left, bottom-right (yellow) to the
// bottom-left.
var uprightCorners = map[corner]marker{
	topRight:    {"red", red},
	bottomRight: {"green", green},
	topLeft:     {"blue", blue},
	bottomLeft:  {"yellow", yellow},
}

// Photo is the smoke test's JPEG: a photo-like scene (sky, sun, texture: something
// Rekognition can name) with the corner markers over it, the EXIF facts above, and a
// comment naming the run, so that every run's bytes differ (the index folds
// byte-identical uploads into one document, and a leftover from an earlier run
// would hide this one).
func Photo(runID string) []byte {
	m := storedSideways(imagingtest.Photo(StoredHeight, StoredWidth))
	corners := imagingtest.Corners(StoredWidth, StoredHeight, red, green, blue, yellow)
	bw, bh := StoredWidth/4, StoredHeight/4
	for _, r := range []image.Rectangle{
		image.Rect(0, 0, bw, bh), image.Rect(StoredWidth-bw, 0, StoredWidth, bh),
		image.Rect(0, StoredHeight-bh, bw, StoredHeight), image.Rect(StoredWidth-bw, StoredHeight-bh, StoredWidth, StoredHeight),
	} {
		draw.Draw(m, r, corners, r.Min, draw.Src)
	}
	tiff := imagingtest.EXIF{
		Make: CameraMake, Model: CameraModel, Orientation: Orientation,
		DateTimeOriginal: "2024:05:17 09:30:00", OffsetTimeOriginal: "+02:00",
		GPS: true, Lat: Lat, Lon: Lon,
	}.TIFF()
	return withComment(imagingtest.WithEXIF(imagingtest.JPEG(m, 90), tiff), "imagepipe smoke "+runID)
}

// storedSideways turns an upright scene a quarter turn anticlockwise, as a camera
// held on its side stores it: orientation 6 turns it back.
func storedSideways(up *image.RGBA) *image.RGBA {
	w, h := up.Bounds().Dy(), up.Bounds().Dx()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetRGBA(x, y, up.RGBAAt(h-1-y, x))
		}
	}
	return m
}

// Corrupt is a JPEG cut off inside its header, before the frame header that says
// its size: every step reads the header first, so the pipeline refuses it for good
// (CorruptImageError) in whichever branch answers first, whatever else is broken.
func Corrupt(runID string) []byte {
	whole := withComment(imagingtest.JPEG(imagingtest.Photo(400, 300), 90), "imagepipe smoke "+runID)
	return whole[:corruptCut]
}

// corruptCut ends the file inside its quantization tables (after SOI and the comment).
const corruptCut = 100

// withComment inserts a JPEG COM segment right after the SOI marker.
func withComment(jpg []byte, text string) []byte {
	seg := []byte{0xFF, 0xFE, byte((len(text) + 2) >> 8), byte(len(text) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, text...)
	return append(out, jpg[2:]...)
}

// VerifyDocument compares a search document with what the photo carries; it returns
// what differs, empty when nothing does.
func VerifyDocument(d pipeline.Document, bucket, key string) []string {
	var bad []string
	want := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("%s %v, want %v", field, got, want))
		}
	}
	want("bucket", d.Bucket, bucket)
	want("format", d.Format, "jpeg")
	want("width×height", fmt.Sprintf("%d×%d", d.Width, d.Height), fmt.Sprintf("%d×%d", StoredWidth, StoredHeight))
	want("orientation", d.Orientation, Orientation)
	want("thumbnail", d.Thumbnail, pipeline.ThumbnailKey(key))
	want("takenAt", d.TakenAt, TakenAt)
	if d.Camera == nil {
		bad = append(bad, "no camera")
	} else {
		want("camera", d.Camera.Make+" / "+d.Camera.Model, CameraMake+" / "+CameraModel)
	}
	switch {
	case d.Location == nil:
		bad = append(bad, "no location (GPS); a caller that may see private fields gets it")
	case abs(d.Location.Lat-Lat) > 1e-4 || abs(d.Location.Lon-Lon) > 1e-4:
		bad = append(bad, fmt.Sprintf("location %.5f,%.5f, want %.5f,%.5f", d.Location.Lat, d.Location.Lon, Lat, Lon))
	}
	if len(d.Labels) == 0 {
		bad = append(bad, "no labels")
	}
	return bad
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// VerifyThumbnailSize checks a decoded thumbnail's size; VerifyOrientation checks where
// its markers are. Each returns "" when the thumbnail is right.
func VerifyThumbnailSize(m image.Image) string {
	if b := m.Bounds(); b.Dx() != ThumbnailWidth || b.Dy() != ThumbnailHeight {
		return fmt.Sprintf("%d×%d, want %d×%d", b.Dx(), b.Dy(), ThumbnailWidth, ThumbnailHeight)
	}
	return ""
}

// VerifyOrientation finds each marker colour in the corners of the upright image
// and reports the first that is not where orientation 6 puts it.
func VerifyOrientation(m image.Image) string {
	found := map[corner]string{}
	for c := range uprightCorners {
		found[c] = colourAt(m, c)
	}
	for _, c := range []corner{topRight, bottomRight, topLeft, bottomLeft} { // red first: the one a person looks for
		mk := uprightCorners[c]
		if found[c] == mk.name {
			continue
		}
		at := "in no corner"
		for other, name := range found {
			if name == mk.name {
				at = "at " + other.String()
			}
		}
		return fmt.Sprintf("%s corner %s, want %s (EXIF orientation %d not applied as it should be)", mk.name, at, c, Orientation)
	}
	return ""
}

// colourAt names the marker colour at the middle of a corner's block (an eighth of
// each side in from the corner), or "" when it is none of them.
func colourAt(m image.Image, c corner) string {
	b := m.Bounds()
	x, y := b.Min.X+b.Dx()/8, b.Min.Y+b.Dy()/8
	if c == topRight || c == bottomRight {
		x = b.Max.X - 1 - b.Dx()/8
	}
	if c == bottomLeft || c == bottomRight {
		y = b.Max.Y - 1 - b.Dy()/8
	}
	px := m.At(x, y)
	for _, mk := range uprightCorners {
		if imagingtest.Near(px, mk.rgba, 60) {
			return mk.name
		}
	}
	return ""
}
