package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/local/cost"
)

func mustDefaults(t *testing.T) []cost.Function {
	t.Helper()
	fns, err := defaultFunctions()
	if err != nil {
		t.Fatal(err)
	}
	return fns
}

// TestDefaultsAreTheTunedSizes: the model prices each pipeline function at the size
// tune chose, with the duration measured there.
func TestDefaultsAreTheTunedSizes(t *testing.T) {
	tuned, err := cost.Tuned()
	if err != nil {
		t.Fatal(err)
	}
	fns := mustDefaults(t)
	if len(fns) != 4 || len(tuned.Functions) != 4 {
		t.Fatalf("defaults %+v from %d tuned functions; want the pipeline's four", fns, len(tuned.Functions))
	}
	for i, f := range fns {
		tf := tuned.Functions[i]
		s, _ := tf.Size(tf.ChosenMB)
		if f.Name != tf.Name || f.MemoryMB != tf.ChosenMB || f.Measured <= 0 ||
			math.Abs(float64(f.Measured)/float64(time.Millisecond)-s.MeanBilledMs) > 0.001 {
			t.Errorf("%+v, want %s at %d MB, %v ms", f, tf.Name, tf.ChosenMB, s.MeanBilledMs)
		}
	}
}

func TestFunctionFlag(t *testing.T) {
	f := &functionFlag{fns: mustDefaults(t)}
	if err := f.Set("make-thumbnail=1024,100ms,50ms"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("resize=256,1s,0s"); err != nil {
		t.Fatal(err)
	}
	var got cost.Function
	for _, fn := range f.fns {
		if fn.Name == "make-thumbnail" {
			got = fn
		}
	}
	if got.MemoryMB != 1024 || got.CPU != 100*time.Millisecond || got.Wait != 50*time.Millisecond || len(f.fns) != 5 {
		t.Errorf("fns = %+v", f.fns)
	}
	for _, bad := range []string{"x", "x=1,2", "x=64,1ms,1ms", "x=512,fast,1ms", "x=512,1ms,-1ms", "=512,1ms,1ms"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCostCommandJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	// One function of 1 GB-s (1024 MB, 1 s waiting), nothing else but requests and
	// transitions: (1 x 0.0000133334 + 0.0000002) x 1e6 + 6 x 0.000025 x 1e6.
	args := []string{"--images", "1000000", "--json", "--rekognition=false", "--s3-puts", "0", "--s3-gets", "0", "--opensearch-nodes", "0"}
	if err := costCmd(context.Background(), args, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var est struct {
		PerMillion float64 `json:"perMillion"`
		Functions  []struct {
			Name string `json:"Name"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(out.Bytes(), &est); err != nil {
		t.Fatal(err)
	}
	want := 150.0 + 4*0.2
	for _, f := range mustDefaults(t) {
		want += f.GBSeconds() * 0.0000133334 * 1e6
	}
	if math.Abs(est.PerMillion-want) > 1e-6 {
		t.Errorf("perMillion = %v, want %v", est.PerMillion, want)
	}
	if len(est.Functions) != 4 {
		t.Errorf("functions = %+v", est.Functions)
	}
}

func TestCostCommandText(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := costCmd(context.Background(), []string{"--images", "200000000"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	for _, want := range []string{"6 Standard state transitions", "Rekognition DetectLabels", "Workshop", "13369.13", "Express"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := costCmd(context.Background(), []string{"--images", "0"}, &out, &errOut); err == nil {
		t.Error("--images 0 accepted")
	}
}

func TestExecutionTime(t *testing.T) {
	fns := []cost.Function{
		{Name: "extract-metadata", MemoryMB: 2048, Wait: 100 * time.Millisecond},
		{Name: "make-thumbnail", MemoryMB: 2048, Wait: 300 * time.Millisecond},
		{Name: "index-document", MemoryMB: 2048, Wait: 50 * time.Millisecond},
	}
	if got := executionTime(fns); got != 350*time.Millisecond {
		t.Errorf("executionTime = %v, want 350ms", got)
	}
}

// TestMemoryFlag: --memory prices a function at another measured size, with the
// duration measured there; an unmeasured size is refused.
func TestMemoryFlag(t *testing.T) {
	tuned, err := cost.Tuned()
	if err != nil {
		t.Fatal(err)
	}
	tf := tuned.Functions[0]
	other := tf.Sizes[len(tf.Sizes)-1]
	fns := &functionFlag{fns: mustDefaults(t)}
	m := &memoryFlag{fns: fns}
	if err := m.Set(fmt.Sprintf("%s=%d", tf.Name, other.MemoryMB)); err != nil {
		t.Fatal(err)
	}
	f := fns.fns[0]
	if f.Name != tf.Name || f.MemoryMB != other.MemoryMB || math.Abs(float64(f.Measured)/1e6-other.MeanBilledMs) > 0.001 {
		t.Errorf("%+v, want %s at %d MB for %v ms", f, tf.Name, other.MemoryMB, other.MeanBilledMs)
	}
	for _, bad := range []string{tf.Name + "=1000", "nope=128", tf.Name, tf.Name + "=x"} {
		if err := m.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
