package loadgen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Sizes a load run can upload: 12 MP like a phone photo, or small for quick runs.
var Sizes = map[string]image.Point{
	"12mp":  {X: 4000, Y: 3000},
	"24mp":  {X: 6000, Y: 4000},
	"small": {X: 1024, Y: 768},
}

type shape struct {
	circle     bool
	x0, y0     int
	x1, y1     int // rectangle corners, or centre and radius² in x1 for circles
	r, g, b    int
	grainShift uint
}

// Photo draws a photograph-like test image: a sky-to-ground gradient, fine grain and
// mid-frequency texture (what makes JPEGs big and decoders work), and hard-edged
// shapes (what ringing and bad filters show). The same seed gives the same pixels.
func Photo(seed uint64, w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	top := [3]float64{60 + rng.Float64()*80, 110 + rng.Float64()*80, 180 + rng.Float64()*70}
	bot := [3]float64{40 + rng.Float64()*120, 60 + rng.Float64()*100, 20 + rng.Float64()*60}
	var shapes []shape
	for range 14 {
		s := shape{circle: rng.IntN(2) == 0, r: rng.IntN(256), g: rng.IntN(256), b: rng.IntN(256), grainShift: uint(2 + rng.IntN(3))}
		cx, cy := rng.IntN(w), rng.IntN(h)
		if s.circle {
			rad := (w + h) / (8 + rng.IntN(24))
			s.x0, s.y0, s.x1 = cx, cy, rad*rad
		} else {
			s.x0, s.y0 = cx, cy
			s.x1, s.y1 = cx+w/(4+rng.IntN(12)), cy+h/(4+rng.IntN(12))
		}
		shapes = append(shapes, s)
	}
	freq := 0.002 + rng.Float64()*0.01
	phase := rng.Float64() * 6
	salt := uint32(seed)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for y := wk; y < h; y += workers {
				t := float64(y) / float64(h)
				var base [3]int
				for c := range 3 {
					base[c] = int(top[c]*(1-t) + bot[c]*t)
				}
				wave := math.Sin(float64(y)*freq*3 + phase)
				row := img.Pix[y*img.Stride : y*img.Stride+4*w]
				for x := range w {
					hsh := hash(uint32(x), uint32(y), salt)
					grain := int(hsh&15) - 8
					tex := int(24 * wave * math.Sin(float64(x)*freq+phase))
					r, g, b := base[0]+tex+grain, base[1]+tex/2+grain, base[2]-tex/2+grain
					for i := range shapes {
						s := &shapes[i]
						var in bool
						if s.circle {
							dx, dy := x-s.x0, y-s.y0
							in = dx*dx+dy*dy <= s.x1
						} else {
							in = x >= s.x0 && x < s.x1 && y >= s.y0 && y < s.y1
						}
						if in {
							g2 := int(hsh>>8&63)>>s.grainShift - 4
							r, g, b = s.r+g2+tex/3, s.g+g2, s.b+g2-tex/3
						}
					}
					p := row[4*x : 4*x+4 : 4*x+4]
					p[0], p[1], p[2], p[3] = clamp8(r), clamp8(g), clamp8(b), 255
				}
			}
		}()
	}
	wg.Wait()
	return img
}

func hash(x, y, salt uint32) uint32 {
	h := x*0x8da6b343 ^ y*0xd8163841 ^ salt*0xcb1ab31f
	h ^= h >> 13
	h *= 0x5bd1e995
	return h ^ h>>15
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// SampleJPEG encodes Photo(seed, w, h) as a baseline 4:2:0 JPEG at the given quality.
func SampleJPEG(seed uint64, w, h, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, Photo(seed, w, h), &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode sample: %w", err)
	}
	return buf.Bytes(), nil
}

// WithNonce returns a copy of a JPEG with a COM segment holding n right after SOI,
// so every upload has distinct bytes (ETag, checksum) without re-encoding pixels.
func WithNonce(jpg []byte, n uint64) []byte {
	if len(jpg) < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		return append([]byte(nil), jpg...)
	}
	com := []byte{0xFF, 0xFE, 0, 0}
	com = fmt.Appendf(com, "imagepipe load %016x", n)
	binary.BigEndian.PutUint16(com[2:], uint16(len(com)-2))
	out := make([]byte, 0, len(jpg)+len(com))
	out = append(out, jpg[:2]...)
	out = append(out, com...)
	return append(out, jpg[2:]...)
}
