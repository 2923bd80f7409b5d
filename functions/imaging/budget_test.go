package imaging_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gen2brain/avif"

	"github.com/imagepipe/imagepipe/functions/imaging"
	_ "github.com/imagepipe/imagepipe/functions/imaging/heifwasm"
	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// heapUse measures what a function allocates: the bytes it allocated in all (an
// upper bound of its heap growth, exact for decoders that allocate once), and the
// peak of live-or-unswept heap objects above the level at its start, sampled every
// 100 µs (the WebAssembly decoders grow their memory by reallocation, so their total
// is several times what they hold at once).
type heapUse struct{ allocated, peak int64 }

// measureHeap runs f and measures its heap use. With limit > 0 the collector's soft
// limit is set that far above the memory in use at the start, as Memory.Apply sets
// it in a Lambda: garbage is then collected before the heap passes it, and the
// sampled peak is what f holds, not what it has dropped.
func measureHeap(limit int64, f func()) heapUse {
	runtime.GC()
	if limit > 0 {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		old := debug.SetMemoryLimit(int64(s[0].Value.Uint64()-s[1].Value.Uint64()) + limit)
		defer debug.SetMemoryLimit(old)
	}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	read := func() (int64, int64) {
		metrics.Read(samples)
		return int64(samples[0].Value.Uint64()), int64(samples[1].Value.Uint64())
	}
	base, alloc0 := read()
	peak := base
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				metrics.Read(s)
				mu.Lock()
				peak = max(peak, int64(s[0].Value.Uint64()))
				mu.Unlock()
			}
		}
	}()
	f()
	close(stop)
	<-done
	now, alloc1 := read()
	peak = max(peak, now)
	return heapUse{allocated: alloc1 - alloc0, peak: peak - base}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// withBudget runs f with a process budget of size bytes, then restores the old one.
func withBudget(t *testing.T, size int64) {
	old := imaging.ProcessBudget()
	imaging.SetProcessBudget(imaging.NewBudget(size))
	t.Cleanup(func() { imaging.SetProcessBudget(old) })
}

// TestHostileFilesStayWithinBudget decodes each memory bomb of issue 14 under the
// budgets a 128 MB and a 1024 MB Lambda get: each is refused (too large or corrupt)
// and the heap grows by less than the budget — by next to nothing when the header
// gives it away, by less than its reserved cost when only its data does (a grid of
// damaged tiles). Before the budget, the progressive JPEG allocated 1430 MB, the
// baseline one 286 MB and the PNG 1144 MB.
func TestHostileFilesStayWithinBudget(t *testing.T) {
	for _, mb := range []int64{128, 1024} {
		budget := imaging.MemoryFor(mb).Budget
		for _, h := range imagingtest.HostileFiles() {
			t.Run(fmt.Sprintf("%s/peak-under-%s", h.Name, strings.ReplaceAll(mib(budget), " ", "")), func(t *testing.T) {
				withBudget(t, budget)
				cost, _, _ := imaging.Cost(h.Data, imaging.DefaultLimits, 640)
				var err error
				use := measureHeap(0, func() {
					var d *imaging.Decoded
					d, err = imaging.Decode(context.Background(), h.Data, imaging.DefaultLimits, 640)
					d.Release()
				})
				t.Logf("%d-byte file, budget %s: %v; allocated %s, peak heap +%s", len(h.Data), mib(budget), err, mib(use.allocated), mib(use.peak))
				if name := errName(err); name != pipeline.ErrNameTooLarge && name != pipeline.ErrNameCorrupt {
					t.Errorf("err = %v, want too large or corrupt", err)
				}
				limit := min(max(cost, 1<<20), budget)
				if errName(err) == pipeline.ErrNameTooLarge {
					limit = 1 << 20 // refused from the header
				}
				if use.allocated > limit || use.peak > limit {
					t.Errorf("allocated %s, peak +%s: over %s", mib(use.allocated), mib(use.peak), mib(limit))
				}
			})
		}
	}
}

// TestParallelBombsShareOneBudget runs eight decodes of an image that costs a third
// of the budget at once: at most three hold it together, the rest wait, and all
// succeed; the heap never grows past the budget.
func TestParallelBombsShareOneBudget(t *testing.T) {
	data := imagingtest.ZeroPNG(3000, 2000, 16, 6) // 48 MB of 16-bit pixels
	d, err := imaging.Decode(context.Background(), data, imaging.DefaultLimits, 80)
	if err != nil {
		t.Fatal(err)
	}
	cost := d.Cost
	d.Release()
	budget := 3*cost + cost/2
	withBudget(t, budget)
	t.Run(fmt.Sprintf("8-parallel/peak-under-%s", strings.ReplaceAll(mib(budget), " ", "")), func(t *testing.T) {
		var mu sync.Mutex
		holding, most := 0, 0
		use := measureHeap(budget, func() {
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := imaging.Decode(context.Background(), data, imaging.DefaultLimits, 80)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					holding++
					most = max(most, holding)
					mu.Unlock()
					_ = imaging.Fit(d.Image, 80)
					mu.Lock()
					holding--
					mu.Unlock()
					d.Release()
				}()
			}
			wg.Wait()
		})
		t.Logf("cost %s each, budget %s: at most %d at once; peak heap +%s", mib(cost), mib(budget), most, mib(use.peak))
		if most > 3 {
			t.Errorf("%d images held the budget at once, want at most 3", most)
		}
		if use.peak > budget {
			t.Errorf("peak heap +%s over the budget %s", mib(use.peak), mib(budget))
		}
	})
}

func TestBudgetWaitHonoursContext(t *testing.T) {
	data := imagingtest.Encode(t, "png", imagingtest.Photo(200, 100))
	d, err := imaging.Decode(context.Background(), data, imaging.DefaultLimits, 80)
	if err != nil {
		t.Fatal(err)
	}
	withBudget(t, d.Cost)
	d.Release()
	held, err := imaging.Decode(context.Background(), data, imaging.DefaultLimits, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = imaging.Decode(ctx, data, imaging.DefaultLimits, 80)
	var te *pipeline.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a transient error once the wait is cancelled", err)
	}
}

func TestMemoryFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		budget     int64
		softLimit  int64
		wantErrors bool
	}{
		{map[string]string{}, 704 << 20, 1024 << 20 * 9 / 10, false},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}, 1769<<20*3/4 - 64<<20, 1769 << 20 * 9 / 10, false},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 32 << 20, 128 << 20 * 9 / 10, false},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "DECODE_BUDGET_BYTES": "50000000"}, 50000000, 128 << 20 * 9 / 10, false},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "DECODE_BUDGET_BYTES": "500000000"}, 0, 0, true},
		{map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0, 0, true},
	} {
		m, err := imaging.MemoryFromEnv(func(k string) string { return tc.env[k] })
		if (err != nil) != tc.wantErrors || (err == nil && (m.Budget != tc.budget || m.SoftLimit != tc.softLimit)) {
			t.Errorf("%v: %+v, %v; want budget %d, soft limit %d, error %v", tc.env, m, err, tc.budget, tc.softLimit, tc.wantErrors)
		}
	}
}

// costCase is one file whose decode cost is checked against what it allocates.
type costCase struct {
	name   string
	data   []byte
	wasm   bool // decoded by a WebAssembly decoder: only the sampled peak is bounded
	corpus bool // checked at the preview's size only (the slowest common decode)
}

// generatedCases covers every decoder and bit depth the pipeline reads.
func generatedCases(t *testing.T) []costCase {
	photo := imagingtest.Photo(1200, 800)
	gray := image.NewGray(photo.Bounds())
	rgba64 := image.NewRGBA64(photo.Bounds())
	nrgba := image.NewNRGBA(photo.Bounds())
	for y := 0; y < 800; y++ {
		for x := 0; x < 1200; x++ {
			c := photo.RGBAAt(x, y)
			gray.SetGray(x, y, color.Gray{Y: c.G})
			rgba64.Set(x, y, c)
			nrgba.Set(x, y, color.NRGBA{c.R, c.G, c.B, uint8(x)})
		}
	}
	cases := []costCase{
		{name: "jpeg-baseline", data: imagingtest.JPEG(photo, 90)},
		{name: "jpeg-gray", data: imagingtest.JPEG(gray, 90)},
		{name: "png-rgba16-zero-3000x2000", data: imagingtest.ZeroPNG(3000, 2000, 16, 6)},
		{name: "png-gray16-zero-3000x2000", data: imagingtest.ZeroPNG(3000, 2000, 16, 0)},
		{name: "png-palette-zero-3000x2000", data: imagingtest.ZeroPNG(3000, 2000, 8, 3)},
		{name: "png-rgb16", data: imagingtest.Encode(t, "png", rgba64)},
		{name: "png-nrgba", data: imagingtest.Encode(t, "png", nrgba)},
		{name: "png-gray", data: imagingtest.Encode(t, "png", gray)},
		{name: "gif", data: imagingtest.Encode(t, "gif", photo)},
		{name: "bmp", data: imagingtest.Encode(t, "bmp", photo)},
		{name: "tiff", data: imagingtest.Encode(t, "tiff", photo)},
		{name: "tiff-rgba16", data: imagingtest.Encode(t, "tiff", rgba64)},
	}
	var buf bytes.Buffer
	if err := avif.Encode(&buf, photo, avif.Options{Quality: 80, Speed: 10}); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, costCase{name: "avif", data: buf.Bytes(), wasm: true})
	return cases
}

// corpusCases are the corpus's photos of every format (skipped when it is absent).
func corpusCases(t *testing.T) []costCase {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "exif-samples")
	if _, err := os.Stat(dir); err != nil {
		t.Logf("no corpus at %s: generated files only", dir)
		return nil
	}
	var cases []costCase
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		switch ext {
		case ".jpg", ".jpeg", ".tiff", ".tif", ".heic", ".heif", ".avif":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, path)
		cases = append(cases, costCase{name: rel, data: data, wasm: ext == ".heic" || ext == ".heif" || ext == ".avif", corpus: true})
		return nil
	})
	return cases
}

// TestDecodeCostBoundsAllocations is the property the budget rests on: for every
// file of the corpus (at the preview's size) and every generated format and depth
// (at the thumbnail's, the preview's and the rendering's), the heap never grows
// past the cost Decode reserved, and neither do the bytes allocated in all (except
// under the WebAssembly decoders, whose memory grows by reallocation: for those the
// sampled peak under a soft limit at the cost is the bound).
func TestDecodeCostBoundsAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes the corpus")
	}
	withBudget(t, imaging.MemoryFor(1769).Budget)
	cases := append(generatedCases(t), corpusCases(t)...)
	for _, c := range cases {
		for _, minSide := range []int{80, 640, 1920} {
			if (c.wasm || c.corpus) && minSide != 640 {
				continue
			}
			t.Run(fmt.Sprintf("%s/min%d", c.name, minSide), func(t *testing.T) {
				var d *imaging.Decoded
				var err error
				// The soft limit at the cost: if the decode held more, the heap would
				// pass it whatever the collector did.
				cost, _, _ := imaging.Cost(c.data, imaging.DefaultLimits, minSide)
				limit := int64(0)
				if c.wasm {
					limit = cost
				}
				use := measureHeap(limit, func() {
					d, err = imaging.Decode(context.Background(), c.data, imaging.DefaultLimits, minSide)
					if err == nil {
						tw, th := imaging.FitSize(d.Image.Bounds().Dx(), d.Image.Bounds().Dy(), minSide)
						_ = imaging.Orient(imaging.Resize(d.Image, tw, th), 6)
					}
				})
				d.Release()
				if err != nil {
					// Refused from the header (no cost), or failing part-way through
					// its data, within its cost.
					t.Logf("%v (cost %s, allocated %s)", err, mib(cost), mib(use.allocated))
					if errName(err) == "other" || use.allocated > max(cost, 1<<20) {
						t.Errorf("a refused file: %v, allocated %s", err, mib(use.allocated))
					}
					return
				}
				t.Logf("%s: cost %s; allocated %s, peak heap +%s", d.Format, mib(d.Cost), mib(use.allocated), mib(use.peak))
				if use.peak > d.Cost {
					t.Errorf("peak heap +%s over the reserved %s", mib(use.peak), mib(d.Cost))
				}
				if !c.wasm && use.allocated > d.Cost {
					t.Errorf("allocated %s, over the reserved %s", mib(use.allocated), mib(d.Cost))
				}
			})
		}
	}
}

// FuzzDecodeWithinBudget: whatever the bytes, a decode under a 64 MiB budget
// allocates less than the budget in all and fails only with the pipeline's types.
func FuzzDecodeWithinBudget(f *testing.F) {
	for _, h := range []imagingtest.Hostile{
		{Data: imagingtest.TruncatedJPEG(10000, 10000, true)},
		{Data: imagingtest.TruncatedJPEG(4000, 3000, false)},
		{Data: imagingtest.ZeroPNG(2000, 2000, 16, 6)},
		{Data: imagingtest.ZeroPNG(300, 200, 16, 4)},
	} {
		f.Add(h.Data)
	}
	small := imagingtest.Photo(32, 24)
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		f.Add(imagingtest.Encode(f, format, small))
	}
	const budget = 64 << 20
	old := imaging.ProcessBudget()
	imaging.SetProcessBudget(imaging.NewBudget(budget))
	f.Cleanup(func() { imaging.SetProcessBudget(old) })
	lim := imaging.Limits{MaxBytes: 8 << 20, MaxPixels: 1 << 26, MaxSide: 16384}
	f.Fuzz(func(t *testing.T, data []byte) {
		var err error
		use := measureHeap(0, func() {
			var d *imaging.Decoded
			d, err = imaging.Decode(context.Background(), data, lim, 80)
			if err == nil {
				_ = imaging.Fit(d.Image, 80)
			}
			d.Release()
		})
		if err != nil && errName(err) == "other" {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if use.allocated > budget+1<<20 {
			t.Fatalf("allocated %s under a budget of %s (err %v)", mib(use.allocated), mib(budget), err)
		}
	})
}

// TestMaxDecodedBytes: MAX_DECODED_BYTES refuses an image whose decode would hold
// more, before anything is allocated for it.
func TestMaxDecodedBytes(t *testing.T) {
	lim, err := imaging.LimitsFromEnv(func(k string) string {
		return map[string]string{"MAX_DECODED_BYTES": "2000000"}[k]
	})
	if err != nil || lim.MaxDecodedBytes != 2000000 {
		t.Fatalf("%+v %v", lim, err)
	}
	data := imagingtest.Encode(t, "png", imagingtest.Photo(1200, 800))
	_, err = imaging.Decode(context.Background(), data, lim, 80)
	var tl *pipeline.ImageTooLargeError
	if !errors.As(err, &tl) || tl.What != "decoded bytes" || tl.Limit != 2000000 {
		t.Errorf("err = %v, want too large in decoded bytes", err)
	}
	if _, err := imaging.LimitsFromEnv(func(k string) string { return map[string]string{"MAX_DECODED_BYTES": "-3"}[k] }); err == nil {
		t.Error("MAX_DECODED_BYTES=-3: no error")
	}
}
