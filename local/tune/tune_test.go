package tune

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/cost"
)

func TestCPUShareAndLimits(t *testing.T) {
	cases := []struct {
		mb, cores int
		share     float64
		quota     int64
	}{
		{128, 2, 128.0 / 1769, 7236},
		{512, 2, 512.0 / 1769, 28943},
		{1769, 2, 1, 100000},
		{3008, 2, 3008.0 / 1769, 170040},
		{3538, 2, 2, 200000},  // Lambda's 2 vCPU
		{10240, 2, 2, 200000}, // Lambda would give 5.79; this machine has 2
		{10240, 8, 10240.0 / 1769, 578858},
		{3008, 1, 1, 100000},
	}
	for _, c := range cases {
		got, err := CPUShare(c.mb, c.cores)
		if err != nil {
			t.Fatalf("CPUShare(%d, %d): %v", c.mb, c.cores, err)
		}
		if math.Abs(got-c.share) > 1e-9 {
			t.Errorf("CPUShare(%d, %d) = %v, want %v", c.mb, c.cores, got, c.share)
		}
		if q := CFSQuotaMicros(got); q != c.quota {
			t.Errorf("CFSQuotaMicros(%d MB) = %d, want %d", c.mb, q, c.quota)
		}
	}
	if got := MemoryLimitBytes(128); got != 134217728 {
		t.Errorf("MemoryLimitBytes(128) = %d", got)
	}
	for _, bad := range []struct{ mb, cores int }{{127, 2}, {10241, 2}, {512, 0}} {
		if _, err := CPUShare(bad.mb, bad.cores); err == nil {
			t.Errorf("CPUShare(%d, %d): no error", bad.mb, bad.cores)
		}
	}
	if q := CFSQuotaMicros(0.001); q != 1000 {
		t.Errorf("quota floor: %d, want the kernel's 1000", q)
	}
}

func TestOwnCgroups(t *testing.T) {
	got := ownCgroups([]byte("9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/\n"))
	want := map[string]string{"memory": "/process_api/abc", "cpu": "/x", "cpuacct": "/x", "name=systemd": "/"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func size(mb int, dollars float64, p95 ...float64) cost.TunedSize {
	s := cost.TunedSize{MemoryMB: mb, CostPerMillion: dollars}
	for i, v := range p95 {
		s.Photos = append(s.Photos, cost.TunedPhoto{Photo: []string{"1mp", "12mp", "24mp"}[i], N: 8, P95Ms: v})
	}
	return s
}

func TestChoose(t *testing.T) {
	// A CPU-bound function: the cost falls with memory, the time rises. The fastest
	// p95s are 90, 380 and 650 ms.
	sizes := func() []cost.TunedSize {
		return []cost.TunedSize{
			size(128, 1.0, 700, 4000, 8000),
			size(512, 2.0, 200, 1100, 2100),
			size(1024, 3.0, 120, 560, 1000),
			size(1769, 4.5, 100, 400, 700),
			size(3008, 7.0, 90, 380, 650),
		}
	}
	cases := []struct {
		name  string
		bound Bound
		floor int
		edit  func([]cost.TunedSize)
		want  int
	}{
		{"1.5x: 1024 MB misses on 24 MP (1000 > 975)", Bound{1.5, 0}, 0, nil, 1769},
		{"1.6x: 1024 MB fits (120 <= 144, 560 <= 608, 1000 <= 1040)", Bound{1.6, 0}, 0, nil, 1024},
		{"1.5x or +400 ms: 1024 MB fits (1000 <= 650 + 400)", Bound{1.5, 400}, 0, nil, 1024},
		{"no bound to speak of: the cheapest", Bound{100, 0}, 0, nil, 128},
		{"a floor", Bound{100, 0}, 2048, nil, 3008},
		{"an OOM disqualifies", Bound{100, 0}, 0, func(s []cost.TunedSize) { s[0].OOM = 1 }, 512},
		{"an error disqualifies", Bound{100, 0}, 0, func(s []cost.TunedSize) { s[0].Errors = 2 }, 512},
		{"a tie goes to less memory", Bound{100, 0}, 0, func(s []cost.TunedSize) { s[1].CostPerMillion = 1.0 }, 128},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := cost.TunedFunction{Name: "make-thumbnail", FloorMB: c.floor, FloorWhy: "test", Sizes: sizes()}
			if c.edit != nil {
				c.edit(f.Sizes)
			}
			mb, why, err := Choose(f, c.bound)
			if err != nil || mb != c.want {
				t.Fatalf("Choose = %d (%s), %v; want %d", mb, why, err, c.want)
			}
			if why == "" {
				t.Error("no reason given")
			}
		})
	}
	// Nothing ran cleanly: an error, not a guess.
	f := cost.TunedFunction{Name: "x", Sizes: sizes()}
	for i := range f.Sizes {
		f.Sizes[i].OOM = 1
	}
	if mb, _, err := Choose(f, Bound{1.5, 100}); err == nil {
		t.Fatalf("Choose with every size out of memory = %d, want an error", mb)
	}
	// No size is fastest everywhere and the bound is 1: the closest one, said so.
	f = cost.TunedFunction{Name: "y", Sizes: []cost.TunedSize{size(128, 1, 100, 200), size(256, 2, 110, 150)}}
	mb, why, err := Choose(f, Bound{1, 0})
	if err != nil || mb != 256 || !strings.Contains(why, "closest") {
		t.Fatalf("Choose = %d (%s), %v; want 256, the closest", mb, why, err)
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {95, 100}, {90, 90}, {1, 10}} {
		if got := Percentile(v, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
	s := photoStats("12mp", []sample{{durationMs: 10, billedMs: 11}, {durationMs: 30, billedMs: 31}, {durationMs: 20, billedMs: 21}})
	if s.P50Ms != 20 || s.P95Ms != 30 || s.MeanBilledMs != 21 || s.N != 3 {
		t.Errorf("photoStats = %+v", s)
	}
}

func TestRefreshWait(t *testing.T) {
	s := &services{}
	s.resetDraws()
	var first []time.Duration
	sum := time.Duration(0)
	for range 1000 {
		d := s.refreshWait(time.Second)
		if d < 0 || d >= time.Second {
			t.Fatalf("wait %v outside [0, 1s)", d)
		}
		if len(first) < 5 {
			first = append(first, d)
		}
		sum += d
	}
	if mean := sum / 1000; mean < 450*time.Millisecond || mean > 550*time.Millisecond {
		t.Errorf("mean wait %v, want about 500ms", mean)
	}
	s.resetDraws()
	for i, want := range first {
		if got := s.refreshWait(time.Second); got != want {
			t.Fatalf("draw %d after a reset: %v, want %v (every size meets the same waits)", i, got, want)
		}
	}
}

// TestHeld: an answer starts no earlier than due and its body streams at the
// modelled rate; a PUT's due time counts its body.
func TestHeld(t *testing.T) {
	body := strings.Repeat("x", 200_000)
	var gotBytes int64
	h := held{
		next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				b := make([]byte, 1<<20)
				for {
					n, err := r.Body.Read(b)
					gotBytes += int64(n)
					if err != nil {
						break
					}
				}
				w.WriteHeader(http.StatusOK)
				return
			}
			_, _ = w.Write([]byte(body))
		}),
		bytesPerSecond: 1e6, // 200 KB: 200 ms
		due: func(r *http.Request, start time.Time, n int64) time.Time {
			if r.Method == http.MethodPut {
				return start.Add(transfer(n, 1e6) + 20*time.Millisecond)
			}
			return start.Add(50 * time.Millisecond)
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	n := 0
	buf := make([]byte, 64<<10)
	for {
		m, err := resp.Body.Read(buf)
		n += m
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	all := time.Since(start)
	if first < 50*time.Millisecond || all < 250*time.Millisecond || n != len(body) {
		t.Errorf("GET: first byte after %v (want >= 50ms), all %d bytes after %v (want >= 250ms)", first, n, all)
	}
	start = time.Now()
	req, _ := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader(body[:100_000]))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 120*time.Millisecond || gotBytes != 100_000 {
		t.Errorf("PUT of 100 KB answered after %v, want >= 120ms (100 ms of body + 20 ms)", d)
	}
}

func TestFreshSequencer(t *testing.T) {
	in := json.RawMessage(`{"event":{"detail":{"object":{"key":"upload/a.jpg","sequencer":"00AA"}}},"metadata":{"width":1}}`)
	a, err := freshSequencer(in, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := freshSequencer(in, 2)
	seq := func(raw json.RawMessage) string {
		var p struct {
			Event struct {
				Detail struct {
					Object struct{ Sequencer, Key string }
				}
			}
			Metadata map[string]int
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event.Detail.Object.Key != "upload/a.jpg" || p.Metadata["width"] != 1 {
			t.Fatalf("payload changed beyond the sequencer: %s", raw)
		}
		return p.Event.Detail.Object.Sequencer
	}
	if sa, sb := seq(a), seq(b); !(len(sa) == len(sb) && sa < sb && sa > "00AA") {
		t.Errorf("sequencers %q then %q: want each newer than the last", sa, sb)
	}
	ev := json.RawMessage(`{"detail":{"object":{"key":"k"}}}`) // the event itself: unchanged
	if out, err := freshSequencer(ev, 3); err != nil || string(out) != string(ev) {
		t.Errorf("event payload: %s, %v", out, err)
	}
	if _, err := freshSequencer(json.RawMessage(`{"event":{}}`), 1); err == nil {
		t.Error("an event without detail.object: no error")
	}
}

func TestInvocationCost(t *testing.T) {
	p := cost.ListPrices()
	// 1,000 ms at 1024 MB = 1 GB-s: $0.0000133334 + $0.0000002 a call.
	if got := cost.InvocationCostPerMillion(1024, 1000, p); math.Abs(got-13.5334) > 1e-6 {
		t.Errorf("1 GB-s: $%v per million, want 13.5334", got)
	}
	// 128 MB for 100 ms = 0.0125 GB-s.
	if got := cost.InvocationCostPerMillion(128, 100, p); math.Abs(got-(0.0125*13.3334+0.2)) > 1e-6 {
		t.Errorf("128 MB, 100 ms: $%v per million", got)
	}
}
