package makethumbnail_test

import (
	"context"
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/steps/makethumbnail"
)

// A 12 MP, 4:2:0, quality-90 grainy photo (about 4.7 MB, like a phone's), turned by
// EXIF so the orientation work is in the figure too.
func grainy12MP() []byte {
	return imagingtest.WithEXIF(imagingtest.JPEG(imagingtest.Grainy(4000, 3000), 90), imagingtest.EXIF{Orientation: 6}.TIFF())
}

func benchRender(b *testing.B, size, preview int) {
	data := grainy12MP()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := makethumbnail.Render(context.Background(), data, imaging.DefaultLimits, size, preview); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderGrainy12MP(b *testing.B)          { benchRender(b, 80, 640) }
func BenchmarkRenderGrainy12MPThumbOnly(b *testing.B) { benchRender(b, 80, 0) }
