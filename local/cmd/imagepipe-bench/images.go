package main

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/imagepipe/imagepipe/functions/loadgen"
)

// genVersion is part of every generated file name: bump it when the generator
// changes, so stale images are not reused.
const genVersion = "v1"

// benchImages writes (once) the generated benchmark set for each size: baseline and
// progressive, 4:2:0 (Go's encoder) and 4:4:4 (cjpeg -sample 1x1 from a PPM), quality
// 90, and returns the paths in table order.
func benchImages(ctx context.Context, dir string, sizes []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for i, name := range sizes {
		sz, ok := loadgen.Sizes[name]
		if !ok {
			return nil, fmt.Errorf("unknown size %q", name)
		}
		stem := filepath.Join(dir, fmt.Sprintf("photo-%s-%s", name, genVersion))
		b420, p420 := stem+"-420.jpg", stem+"-420-progressive.jpg"
		b444, p444 := stem+"-444.jpg", stem+"-444-progressive.jpg"
		all := []string{b420, p420, b444, p444}
		if !exist(all...) {
			img := loadgen.Photo(uint64(100+i), sz.X, sz.Y)
			if err := writeJPEG(b420, img); err != nil {
				return nil, err
			}
			ppm := stem + ".ppm"
			if err := writePPM(ppm, img); err != nil {
				return nil, err
			}
			steps := [][]string{
				{"jpegtran", "-progressive", "-copy", "all", "-outfile", p420, b420},
				{"cjpeg", "-quality", "90", "-sample", "1x1", "-outfile", b444, ppm},
				{"jpegtran", "-progressive", "-copy", "all", "-outfile", p444, b444},
			}
			for _, argv := range steps {
				if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
					return nil, fmt.Errorf("%v: %w: %s", argv, err, out)
				}
			}
			os.Remove(ppm)
		}
		out = append(out, all...)
	}
	return out, nil
}

func exist(paths ...string) bool {
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			return false
		}
	}
	return true
}

func writeJPEG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writePPM writes a binary PPM (P6), cjpeg's input format.
func writePPM(path string, img *image.RGBA) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	b := img.Bounds()
	fmt.Fprintf(w, "P6\n%d %d\n255\n", b.Dx(), b.Dy())
	row := make([]byte, 3*b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		pix := img.Pix[(y-b.Min.Y)*img.Stride:]
		for x := range b.Dx() {
			copy(row[3*x:3*x+3], pix[4*x:4*x+3])
		}
		w.Write(row)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heicImages writes (once) a HEIC of each generated 4:2:0 photo with libheif's
// heif-enc (x265, quality 90: about what a phone writes) and returns the paths;
// none when heif-enc is not installed.
func heicImages(ctx context.Context, jpegs []string) ([]string, error) {
	if _, err := exec.LookPath("heif-enc"); err != nil {
		return nil, nil
	}
	var out []string
	for _, j := range jpegs {
		if !strings.HasSuffix(j, "-420.jpg") {
			continue
		}
		h := strings.TrimSuffix(j, ".jpg") + ".heic"
		if !exist(h) {
			if b, err := exec.CommandContext(ctx, "heif-enc", "-q", "90", "-o", h, j).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("heif-enc %s: %w: %s", j, err, b)
			}
		}
		out = append(out, h)
	}
	return out, nil
}
