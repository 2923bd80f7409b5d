package test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/imagepipe/imagepipe/functions/imaging/imagingtest"
)

// peaks is the peak resident memory (VmHWM) of a process and of each of its live
// descendants, by pid, with what each runs (the function's folder for a bootstrap).
func peaks(t *testing.T, root int) (rootPeak int64, children map[int]procPeak) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	all := map[int]procPeak{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		var p procPeak
		if exe, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil {
			p.name = filepath.Base(filepath.Dir(exe))
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[0] == "PPid:":
				parent[pid], _ = strconv.Atoi(f[1])
			case len(f) >= 2 && f[0] == "VmHWM:":
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				p.bytes = kb << 10
			}
		}
		all[pid] = p
	}
	children = map[int]procPeak{}
	for pid, p := range all {
		for q := parent[pid]; q > 1; q = parent[q] {
			if q == root {
				children[pid] = p
				break
			}
		}
	}
	return all[root].bytes, children
}

type procPeak struct {
	name  string
	bytes int64
}

// memorySizes is each function's MemorySize in the snapshot, by functions/cmd name.
func memorySizes(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range snapshotTemplate(t)["Resources"].(map[string]any) {
		res := r.(map[string]any)
		md, _ := res["Metadata"].(map[string]any)
		name, _ := md["imagepipe:function"].(string)
		if res["Type"] != "AWS::Lambda::Function" || name == "" {
			continue
		}
		mb, _ := res["Properties"].(map[string]any)["MemorySize"].(float64)
		out[name] = int64(mb) << 20
	}
	return out
}

// The memory bombs of issue 14, eight at once: each fails cleanly, with a failure
// message; the twin's own process stays under 400 MB at peak (before the decode
// budget one such JPEG allocated 1.4 GB by itself, and eight took a twin to 8.7 GB),
// and every function process under its memory size, as Lambda holds it.
func TestEightMemoryBombsAtOnceTwinUnder400MBFunctionsUnderTheirMemorySize(t *testing.T) {
	const bound = 400 << 20
	tw := startTwin(t)
	var bombs [][]byte
	for _, h := range imagingtest.HostileFiles() {
		if strings.HasPrefix(h.Name, "jpeg-") || strings.HasPrefix(h.Name, "png-") {
			bombs = append(bombs, h.Data)
		}
	}
	client := tw.S3()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("upload/bombs/%d.img", i)
			if _, err := client.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("images"), Key: aws.String(key), Body: bytes.NewReader(bombs[i%len(bombs)])}); err != nil {
				t.Errorf("put %s: %v", key, err)
			}
		}()
	}
	wg.Wait()
	var msgs []failureBody
	waitFor(t, 3*time.Minute, "a failure message per bomb", func() (bool, error) {
		msgs = tw.failures(t)
		return len(msgs) >= 8, nil
	})
	for _, m := range msgs {
		if m.Error == "" || m.Cause == "" {
			t.Errorf("failure without error or cause: %+v", m)
		}
	}
	twinPeak, children := peaks(t, tw.pid())
	t.Logf("peak resident memory: the twin %d MB (bound %d MB)", twinPeak>>20, bound>>20)
	if twinPeak > bound {
		t.Errorf("the twin's peak resident memory %d MB, over %d MB", twinPeak>>20, bound>>20)
	}
	sizes := memorySizes(t)
	for pid, p := range children {
		limit, ok := sizes[p.name]
		if !ok {
			continue
		}
		t.Logf("  %s (pid %d): %d MB of %d MB", p.name, pid, p.bytes>>20, limit>>20)
		if p.bytes > limit {
			t.Errorf("%s (pid %d) peaked at %d MB, over its %d MB", p.name, pid, p.bytes>>20, limit>>20)
		}
	}
}
