package cost

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/statemachine"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func TestBilledStretchesCPUBelowOneVCPU(t *testing.T) {
	// 100 ms of CPU at 512 MB: 100 x 1769/512 = 345.51 ms, + 20 ms waiting = 365.51,
	// rounded up to 366 ms; 0.366 s x 0.5 GB = 0.183 GB-s.
	f := Function{MemoryMB: 512, CPU: 100 * time.Millisecond, Wait: 20 * time.Millisecond}
	if got := f.Billed(); got != 366*time.Millisecond {
		t.Errorf("Billed = %v, want 366ms", got)
	}
	near(t, "GBSeconds", f.GBSeconds(), 0.183)
	// At 2048 MB the CPU is not stretched: 100 ms x 2 GB = 0.2 GB-s.
	g := Function{MemoryMB: 2048, CPU: 100 * time.Millisecond}
	near(t, "GBSeconds 2048", g.GBSeconds(), 0.2)
}

func TestTiered(t *testing.T) {
	tiers := ListPrices().RekognitionDetectLabels
	near(t, "0.5M", tiered(0.5e6, tiers), 500)
	// 1M x 0.001 + 4M x 0.0008 + 1M x 0.0006 = 1000 + 3200 + 600.
	near(t, "6M", tiered(6e6, tiers), 4800)
	// ... + 30M x 0.0006 + 5M x 0.00025 = 1000 + 3200 + 18000 + 1250.
	near(t, "40M", tiered(40e6, tiers), 23450)
}

func TestWorkshopCheckMatchesItsFigure(t *testing.T) {
	// 200M x (8 s x 0.5 GB x $0.0000166667 + $0.0000002) = $13,373.36; the
	// workshop said $13,369.13 (a free tier or rounding away): within 0.1%.
	got := WorkshopCheck(ListPrices())
	near(t, "WorkshopCheck", got, 13373.36)
	if math.Abs(got-WorkshopDollars)/WorkshopDollars > 0.001 {
		t.Errorf("workshop recomputed as %.2f, quoted %.2f", got, WorkshopDollars)
	}
}

func TestTransitions(t *testing.T) {
	n, err := Transitions(statemachine.Pipeline())
	if err != nil {
		t.Fatal(err)
	}
	// ProcessImage, its three branch Tasks, CheckBranches, IndexDocument.
	if n != 6 {
		t.Errorf("pipeline transitions = %d, want 6", n)
	}
	loop := []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A"}}}`)
	if _, err := Transitions(loop); err == nil {
		t.Error("a looping default path was accepted")
	}
	missing := []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`)
	if _, err := Transitions(missing); err == nil {
		t.Error("an undefined Next was accepted")
	}
}

func TestComputeByHand(t *testing.T) {
	p := ListPrices()
	in := Inputs{
		Images: 2e6,
		Functions: []Function{
			{Name: "a", MemoryMB: 1024, Wait: time.Second}, // 1 GB-s
			{Name: "b", MemoryMB: 2048, CPU: time.Second},  // 2 GB-s
		},
		Transitions:         6,
		Execution:           1234 * time.Millisecond, // billed 1.3 s
		Rekognition:         true,
		S3Puts:              3,
		S3Gets:              3,
		OpenSearchInstance:  "t3.small.search",
		OpenSearchNodes:     1,
		OpenSearchStorageGB: 10,
	}
	e, err := Compute(in, p)
	if err != nil {
		t.Fatal(err)
	}
	perImage := map[string]float64{
		"Lambda a":                  1 * 0.0000133334,
		"Lambda b":                  2 * 0.0000133334,
		"Lambda requests":           2 * 0.0000002,
		"Step Functions Standard":   6 * 0.000025,
		"Rekognition DetectLabels":  (1e6*0.001 + 1e6*0.0008) / 2e6,
		"S3 PUT requests":           3 * 0.000005,
		"S3 GET requests":           3 * 0.0000004,
		"OpenSearch domain (month)": (0.036*730 + 10*0.122) / 2e6,
	}
	if len(e.Lines) != len(perImage) {
		t.Fatalf("%d lines, want %d: %+v", len(e.Lines), len(perImage), e.Lines)
	}
	sum := 0.0
	for _, l := range e.Lines {
		want, ok := perImage[l.Item]
		if !ok {
			t.Errorf("unexpected line %q", l.Item)
			continue
		}
		near(t, l.Item+" per M", l.PerM, want*1e6)
		near(t, l.Item+" total", l.Total, want*2e6)
		sum += want
	}
	near(t, "PerM", e.PerM, sum*1e6)
	near(t, "Total", e.Total, sum*2e6)
	near(t, "LambdaPerM", e.LambdaPerM, (3*0.0000133334+2*0.0000002)*1e6)
	// Express: $1/M + 1.3 s x 64 MB = 0.08125 GB-s x $0.00001667.
	near(t, "Express per M", e.Express.PerM, (0.000001+0.08125*0.00001667)*1e6)
	near(t, "Workshop per M", e.Workshop.PerM, 13369.13/200)

	var buf bytes.Buffer
	if err := WriteText(&buf, e); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Lambda a", "total", "Workshop", PricesDate} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestComputeRejects(t *testing.T) {
	p := ListPrices()
	if _, err := Compute(Inputs{}, p); err == nil {
		t.Error("zero images accepted")
	}
	if _, err := Compute(Inputs{Images: 1, Functions: []Function{{Name: "x"}}}, p); err == nil {
		t.Error("zero memory accepted")
	}
	if _, err := Compute(Inputs{Images: 1, OpenSearchNodes: 1, OpenSearchInstance: "nope"}, p); err == nil {
		t.Error("unknown instance accepted")
	}
}

// Copied labels are not Rekognition calls: the tiers apply to the calls made, and
// the saving is what the marginal (cheapest) images would have cost.
func TestDuplicateRateSavesRekognition(t *testing.T) {
	for _, tc := range []struct {
		images, rate, rekognition, saved float64
	}{
		// 200M x 0.9 = 180M calls: 1000 + 3200 + 18000 + 145M x 0.00025 = 58,450;
		// the 20M copies would have cost 0.00025 each: 5,000.
		{200e6, 0.1, 58450, 5000},
		// 1M x 0.8 = 0.8M calls at 0.001: 800; 0.2M saved at 0.001: 200.
		{1e6, 0.2, 800, 200},
		{1e6, 0, 1000, 0},
	} {
		e, err := Compute(Inputs{Images: tc.images, Rekognition: true, DuplicateRate: tc.rate}, ListPrices())
		if err != nil {
			t.Fatal(err)
		}
		var rek float64
		for _, l := range e.Lines {
			if l.Item == "Rekognition DetectLabels" {
				rek = l.Total
			}
		}
		near(t, "Rekognition", rek, tc.rekognition)
		near(t, "saved", e.Copied.Total, tc.saved)
		if (tc.rate == 0) != (e.Copied.Item == "") {
			t.Errorf("rate %v: saved line %+v", tc.rate, e.Copied)
		}
	}
	for _, bad := range []float64{-0.1, 1, 1.5} {
		if _, err := Compute(Inputs{Images: 1e6, Rekognition: true, DuplicateRate: bad}, ListPrices()); err == nil {
			t.Errorf("rate %v accepted", bad)
		}
	}
}

// TestMeasuredDuration: a measured duration is billed as measured (rounded up to the
// millisecond), whatever CPU and Wait say.
func TestMeasuredDuration(t *testing.T) {
	f := Function{Name: "make-thumbnail", MemoryMB: 512, CPU: time.Second, Wait: time.Second, Measured: 180400 * time.Microsecond}
	if got := f.Billed(); got != 181*time.Millisecond {
		t.Errorf("Billed = %v, want 181ms", got)
	}
	if got, want := f.GBSeconds(), 0.181*0.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("GBSeconds = %v, want %v", got, want)
	}
}

func TestParseTuning(t *testing.T) {
	good := `{"functions":[{"name":"a","chosenMB":256,"sizes":[{"memoryMB":128,"meanBilledMs":90},{"memoryMB":256,"meanBilledMs":50.5}]}]}`
	tu, err := ParseTuning([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	fns := tu.ChosenFunctions()
	if len(fns) != 1 || fns[0].MemoryMB != 256 || fns[0].Measured != 50500*time.Microsecond {
		t.Errorf("ChosenFunctions = %+v", fns)
	}
	for _, bad := range []string{
		`{"functions":[{"name":"a","chosenMB":512,"sizes":[{"memoryMB":128,"meanBilledMs":90}]}]}`, // not measured
		`{"functions":[{"name":"a","chosenMB":128,"sizes":[{"memoryMB":128}]}]}`,                   // no duration
		`{"functions":`,
	} {
		if _, err := ParseTuning([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, err := Tuned(); err != nil {
		t.Errorf("the committed tuned.json: %v", err)
	}
}
