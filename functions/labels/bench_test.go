package labels

import (
	"testing"

	"github.com/imagepipe/imagepipe/functions/imaging"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// The local labeler's CPU on a 12 MP, 4:2:0, quality-90 grainy photo (~4.7 MB):
// the reduced decode plus Analyze, as AnalyzeBytes does it.
func BenchmarkDetectGrainy12MP(b *testing.B) {
	data := imagingtest.JPEG(imagingtest.Grainy(4000, 3000), 90)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		img, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, analysisSide)
		if err != nil {
			b.Fatal(err)
		}
		Analyze(img, 1)
	}
}

// Analyze alone, on what the 1/8 decode of a 12 MP photo gives (500×375).
func BenchmarkAnalyze(b *testing.B) {
	data := imagingtest.JPEG(imagingtest.Grainy(4000, 3000), 90)
	img, _, err := imaging.DecodeBytes(data, imaging.DefaultLimits, analysisSide)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Analyze(img, 1)
	}
}
