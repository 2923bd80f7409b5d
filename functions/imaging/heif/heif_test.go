package heif_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/heif"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

func parse(t *testing.T, data []byte) heif.Info {
	t.Helper()
	info, err := heif.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestParseSingleImage(t *testing.T) {
	tiff := imagingtest.EXIF{Make: "Apple", Orientation: 6}.TIFF()
	data := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 4032, Height: 3024, Rotation: 3, Mirror: -1, EXIF: tiff})
	info := parse(t, data)
	if info.Codec != "hvc1" || info.Width != 4032 || info.Height != 3024 || info.Rotation != 3 || info.Mirror != -1 ||
		info.Tiles != 1 || info.BitDepth != 8 || info.Chroma != 1 || info.Orientation() != 6 {
		t.Errorf("%+v orientation %d", info, info.Orientation())
	}
	exif, err := heif.ReadExif(bytes.NewReader(data), info, 1<<20)
	if err != nil || !bytes.Equal(exif, append([]byte("Exif\x00\x00"), tiff...)[6:]) {
		t.Errorf("exif = %q, %v", exif, err)
	}
}

func TestParseGridAndTiles(t *testing.T) {
	data := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 1000, Height: 700, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1})
	info := parse(t, data)
	if info.Tiles != 4 || info.TileWidth != 512 || info.Width != 1000 || info.Height != 700 || len(info.Exif) != 0 {
		t.Errorf("%+v", info)
	}
	l, err := heif.Tiles(data)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 4 || l.Cols != 2 || l.Rows != 2 {
		t.Fatalf("%+v", l)
	}
	tile, err := l.Tile(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	// A tile is a standalone HEIC of one coded image, with no transformation.
	one := parse(t, tile)
	if one.Tiles != 1 || one.Width != 512 || one.Height != 512 || one.Orientation() != 1 {
		t.Errorf("tile file: %+v", one)
	}
}

func TestAVIF(t *testing.T) {
	data := imagingtest.HEIF(imagingtest.HEIFSpec{Brand: "avif", Codec: "av01", Width: 640, Height: 480, Rotation: 1, Mirror: 0})
	info := parse(t, data)
	if info.Codec != "av01" || info.Chroma != 1 || info.BitDepth != 8 || info.Orientation() != 7 {
		t.Errorf("%+v orientation %d", info, info.Orientation())
	}
	if _, err := heif.Tiles(data); err == nil {
		t.Error("tiles of an AVIF: want an error")
	}
}

// TestOrientation turns a picture as HEIF says (irot: anticlockwise quarter
// turns, then imir: axis 0 swaps left and right, 1 top and bottom), written out
// here pixel by pixel, and checks that imaging.Orient with Info.Orientation shows
// the same picture.
func TestOrientation(t *testing.T) {
	src := imagingtest.Corners(6, 4, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{0, 0, 0, 255})
	for rot := range 4 {
		for mirror := -1; mirror <= 1; mirror++ {
			want := src
			for range rot {
				want = turnAnticlockwise(want)
			}
			if mirror >= 0 {
				want = flip(want, mirror)
			}
			info := heif.Info{Rotation: rot, Mirror: mirror}
			got := imaging.Orient(src, info.Orientation())
			if !bytes.Equal(got.Pix, want.Pix) || got.Bounds() != want.Bounds() {
				t.Errorf("irot %d imir %d: orientation %d shows another picture", rot, mirror, info.Orientation())
			}
		}
	}
}

func turnAnticlockwise(m *image.RGBA) *image.RGBA {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	out := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := range h {
		for x := range w {
			out.Set(y, w-1-x, m.At(x, y)) // the right edge becomes the top
		}
	}
	return out
}

func flip(m *image.RGBA, axis int) *image.RGBA {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	out := image.NewRGBA(m.Bounds())
	for y := range h {
		for x := range w {
			if axis == 0 {
				out.Set(w-1-x, y, m.At(x, y))
			} else {
				out.Set(x, h-1-y, m.At(x, y))
			}
		}
	}
	return out
}

func TestPictureSizeChecked(t *testing.T) {
	data := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 1024, Height: 1024, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512,
		Rotation: -1, Mirror: -1, SPSWidth: 16000, SPSHeight: 16000})
	l, err := heif.Tiles(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Tile(data, 0); err == nil {
		t.Fatal("a tile whose SPS declares 16000x16000: want an error before decoding")
	}
	ok := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 1000, Height: 1000, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1})
	if l, err = heif.Tiles(ok); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Tile(ok, 0); err != nil {
		t.Errorf("an SPS of the tile's size: %v", err)
	}
}

func TestDamage(t *testing.T) {
	good := imagingtest.HEIF(imagingtest.HEIFSpec{Width: 64, Height: 64, Rotation: -1, Mirror: -1, EXIF: imagingtest.EXIF{Make: "X"}.TIFF()})
	seq := append(binary.BigEndian.AppendUint32(nil, 16), "ftypmsf1\x00\x00\x00\x00"...)
	seq = append(seq, 0, 0, 0, 8, 'm', 'o', 'o', 'v')
	var ue *heif.UnsupportedError
	if _, err := heif.Parse(bytes.NewReader(seq), int64(len(seq))); !errors.As(err, &ue) {
		t.Errorf("sequence without meta: %v", err)
	}
	for n := 0; n < len(good); n += 7 {
		_, err := heif.Parse(bytes.NewReader(good[:n]), int64(n))
		if err == nil && n < len(good)-20 {
			info := parse(t, good)
			if _, err := heif.ReadExif(bytes.NewReader(good[:n]), info, 1<<20); err == nil {
				t.Errorf("cut at %d of %d: no error", n, len(good))
			}
		}
		if err != nil && !heif.IsFormatError(err) {
			t.Errorf("cut at %d: %T %v is not a format error", n, err, err)
		}
	}
}

// TestCorpus reads the corpus's HEIC files (skipped when absent): the iPhone's and
// Nokia's are 512×512 grids turned by irot, as their EXIF orientation says.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "corpus", "exif-samples", "heic")
	files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	more, _ := filepath.Glob(filepath.Join(dir, "mobile", "*"))
	if len(files)+len(more) == 0 {
		t.Skip("no corpus at", dir)
	}
	want := map[string]struct{ w, h, o, tiles int }{
		"iphone_13_pro_max.HEIC": {4032, 3024, 6, 48},
		"HMD_Nokia_8.3_5G.heif":  {4608, 3456, 6, 63},
		"samplefilehub.heif":     {640, 426, 1, 1},
	}
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info := parse(t, data)
		exif, err := heif.ReadExif(bytes.NewReader(data), info, 1<<20)
		t.Logf("%s: %+v orientation %d, exif %d bytes %v", filepath.Base(f), info, info.Orientation(), len(exif), err)
		if err != nil || len(exif) < 8 {
			t.Errorf("%s: exif %d bytes, %v", f, len(exif), err)
		}
		if w, ok := want[filepath.Base(f)]; ok && (info.Width != w.w || info.Height != w.h || info.Orientation() != w.o || info.Tiles != w.tiles) {
			t.Errorf("%s: %+v, want %+v", f, info, w)
		}
		if _, err := heif.Tiles(data); err != nil {
			t.Errorf("%s: tiles: %v", f, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(imagingtest.HEIF(imagingtest.HEIFSpec{Width: 64, Height: 48, Rotation: 1, Mirror: 1, EXIF: imagingtest.EXIF{Make: "X"}.TIFF()}))
	f.Add(imagingtest.HEIF(imagingtest.HEIFSpec{Width: 1000, Height: 700, Cols: 2, Rows: 2, TileWidth: 512, TileHeight: 512, Rotation: -1, Mirror: -1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := heif.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !heif.IsFormatError(err) {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		_, _ = heif.ReadExif(bytes.NewReader(data), info, 1<<20)
		if l, err := heif.Tiles(data); err == nil {
			for i := range min(l.Len(), 4) {
				_, _ = l.Tile(data, i)
			}
		}
	})
}
