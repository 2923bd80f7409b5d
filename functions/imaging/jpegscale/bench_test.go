package jpegscale

import (
	"bytes"
	"image/jpeg"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A 12-megapixel (4000×3000) 4:2:0 quality-90 photo-like JPEG, made once per run.
// JPEGSCALE_BENCH_FILE overrides it with a real file.
var bench12MP = sync.OnceValue(func() []byte {
	if p := os.Getenv("JPEGSCALE_BENCH_FILE"); p != "" {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo(4000, 3000, 42), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// cpuTime is this process's user+system CPU time; reported per op next to ns/op
// because wall time on a shared machine says more about the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loop(b *testing.B, f func() error) {
	b.ReportAllocs()
	start, n := cpuTime(), 0
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

func benchScale(b *testing.B, denom int) {
	data := bench12MP()
	b.SetBytes(int64(len(data)))
	loop(b, func() error {
		_, err := DecodeScale(data, denom)
		return err
	})
}

func BenchmarkDecode12MP_1_8(b *testing.B) { benchScale(b, 8) }
func BenchmarkDecode12MP_1_4(b *testing.B) { benchScale(b, 4) }
func BenchmarkDecode12MP_1_2(b *testing.B) { benchScale(b, 2) }
func BenchmarkDecode12MP_1_1(b *testing.B) { benchScale(b, 1) }

// The standard library's full decode of the same file, for the ratio.
func BenchmarkStdlibDecode12MP(b *testing.B) {
	data := bench12MP()
	b.SetBytes(int64(len(data)))
	loop(b, func() error {
		_, err := jpeg.Decode(bytes.NewReader(data))
		return err
	})
}
