package jpegscale

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"os/exec"
	"testing"
)

func FuzzDecode(f *testing.F) {
	f.Add(encodeGo(f, photo(40, 30, 1), 90))
	f.Add(encodeGo(f, toGray(photo(19, 21, 2)), 50))
	f.Add(encodeGo(f, photo(1, 1, 3), 100))
	// Progressive and restart seeds when libjpeg-turbo's tools are installed.
	if jt, err := exec.LookPath("jpegtran"); err == nil {
		for _, args := range [][]string{{"-progressive"}, {"-restart", "1B"}, {"-progressive", "-restart", "2B"}} {
			cmd := exec.Command(jt, args...)
			cmd.Stdin = bytes.NewReader(encodeGo(f, photo(24, 40, 4), 80))
			if out, err := cmd.Output(); err == nil {
				f.Add(out)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return
		}
		// The pipeline checks its Limits with DecodeConfig first; do the same so
		// the fuzzer does not spend its memory on legitimately huge frames.
		if cfg.Width*cfg.Height > 1<<20 {
			return
		}
		for _, denom := range []int{1, 8} {
			img, got, err := decodeData(data, func(int, int) int { return denom })
			if err != nil {
				continue
			}
			b := img.Bounds()
			if got != denom || b.Dx() != (cfg.Width+denom-1)/denom || b.Dy() != (cfg.Height+denom-1)/denom {
				t.Fatalf("1/%d of %dx%d gave %v", denom, cfg.Width, cfg.Height, b)
			}
			if _, gray := img.(*image.Gray); gray != (cfg.ColorModel == color.GrayModel) {
				t.Fatalf("colour model %v for %T", cfg.ColorModel, img)
			}
		}
	})
}

// TestMutations runs deterministic corruptions of valid files through the decoder
// without its recover, so `make test` catches panics the short fuzz runs miss.
func TestMutations(t *testing.T) {
	seeds := [][]byte{encodeGo(t, photo(48, 32, 1), 90), encodeGo(t, toGray(photo(33, 17, 2)), 60)}
	if jt, err := exec.LookPath("jpegtran"); err == nil {
		for _, args := range [][]string{{"-progressive"}, {"-progressive", "-restart", "1B"}} {
			cmd := exec.Command(jt, args...)
			cmd.Stdin = bytes.NewReader(seeds[0])
			if out, err := cmd.Output(); err == nil {
				seeds = append(seeds, out)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		data := bytes.Clone(seeds[i%len(seeds)])
		for range 1 + rng.IntN(4) {
			switch p := rng.IntN(len(data)); rng.IntN(3) {
			case 0:
				data[p] = byte(rng.IntN(256))
			case 1:
				data[p] ^= 1 << rng.IntN(8)
			default:
				data = data[:p]
			}
			if len(data) == 0 {
				break
			}
		}
		if cfg, err := DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 1<<22 {
			continue // the caller's Limits would reject it
		}
		for _, denom := range []int{1, 2, 4, 8} {
			decodeData(data, func(w, h int) int { return denom }) // must not panic
		}
	}
}
