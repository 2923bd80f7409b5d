package test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/imagepipe/imagepipe/functions/testkit"
)

// TestTuneQuick runs `imagepipe tune --quick` on make-thumbnail at two memory sizes
// under the Runtime API in cgroups: the smaller size gets its smaller CPU share and
// is slower on the same photo, and each size reports what the table needs. Without
// writable cgroup v1 controllers (not root) it skips, except under CI=true, which
// runs as root.
func TestTuneQuick(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, imagepipeBin, "tune", "--quick", "--functions", "make-thumbnail",
		"--sizes", "128,1024", "--functions-dir", functionsDir, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "cgroup v1 cpu and memory controllers are not writable") {
			testkit.SkipUnlessCI(t, "tune needs writable cgroup v1 cpu and memory controllers: "+strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("tune: %v\n%s", err, stderr.String())
	}
	var table struct {
		Cores     int
		Functions []struct {
			Name     string
			ChosenMB int
			Sizes    []struct {
				MemoryMB                   int
				CPUShare                   float64
				P50Ms, P95Ms, MeanBilledMs float64
				CostPerMillion, InitMs     float64
				MaxMemoryUsedMB            int64
				OOM, Errors                int
				Photos                     []struct {
					Photo string
					N     int
				}
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &table); err != nil {
		t.Fatalf("tune --json: %v\n%s", err, stdout.String())
	}
	if len(table.Functions) != 1 || table.Functions[0].Name != "make-thumbnail" || len(table.Functions[0].Sizes) != 2 {
		t.Fatalf("table: %s", stdout.String())
	}
	f := table.Functions[0]
	small, large := f.Sizes[0], f.Sizes[1]
	if small.MemoryMB != 128 || large.MemoryMB != 1024 {
		t.Fatalf("sizes %d, %d", small.MemoryMB, large.MemoryMB)
	}
	for _, s := range f.Sizes {
		if s.OOM != 0 || s.Errors != 0 || len(s.Photos) != 1 || s.Photos[0].Photo != "1mp" || s.Photos[0].N != 3 {
			t.Errorf("%d MB: %+v", s.MemoryMB, s)
		}
		if s.P50Ms <= 0 || s.P95Ms < s.P50Ms || s.MeanBilledMs < s.P50Ms*0.5 || s.CostPerMillion <= 0 || s.InitMs <= 0 || s.MaxMemoryUsedMB <= 0 {
			t.Errorf("%d MB: implausible figures %+v", s.MemoryMB, s)
		}
	}
	if want := 128.0 / 1769; small.CPUShare < want-0.001 || small.CPUShare > want+0.001 {
		t.Errorf("128 MB: CPU share %v, want %v", small.CPUShare, want)
	}
	// The thumbnail of a 1 MP photo is CPU work: at 7% of a vCPU it takes several
	// times as long as at 58%. Measured 706 ms against 184 ms at 1769 MB; anything
	// under 1.5x means the quota did not hold.
	if small.P50Ms < 1.5*large.P50Ms {
		t.Errorf("p50 at 128 MB %.1f ms, at 1024 MB %.1f ms: the CPU share was not applied", small.P50Ms, large.P50Ms)
	}
	if f.ChosenMB != 128 && f.ChosenMB != 1024 {
		t.Errorf("chosen %d MB, not a measured size", f.ChosenMB)
	}
}
