package tune

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoCgroups is returned when this machine's cgroup v1 cpu and memory controllers
// cannot be written (not Linux, not root, or a cgroup v2-only machine): without them
// no size can be given its CPU share, and tune refuses to guess.
var ErrNoCgroups = errors.New("cgroup v1 cpu and memory controllers are not writable here (tune needs root on a machine that mounts them at /sys/fs/cgroup/cpu and /sys/fs/cgroup/memory)")

// Cgroups creates groups under this process's own cgroup in the v1 cpu and memory
// hierarchies (a child of where it runs, so the machine's own limits still apply).
type Cgroups struct {
	cpu, memory string // parent folders
}

// OpenCgroups finds this process's cpu and memory cgroups under root (normally
// /sys/fs/cgroup) and checks that a child group can be made and limited there.
func OpenCgroups(root string) (*Cgroups, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCgroups, err)
	}
	paths := ownCgroups(self)
	c := &Cgroups{}
	for _, ctl := range []struct {
		name string
		dst  *string
		file string
	}{{"cpu", &c.cpu, "cpu.cfs_quota_us"}, {"memory", &c.memory, "memory.limit_in_bytes"}} {
		rel, ok := paths[ctl.name]
		if !ok {
			return nil, fmt.Errorf("%w: no %s controller in /proc/self/cgroup", ErrNoCgroups, ctl.name)
		}
		dir := filepath.Join(root, ctl.name, rel)
		if _, err := os.Stat(filepath.Join(dir, ctl.file)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCgroups, err)
		}
		probe := filepath.Join(dir, fmt.Sprintf("imagepipe-tune-probe-%d", os.Getpid()))
		if err := os.Mkdir(probe, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCgroups, err)
		}
		werr := os.WriteFile(filepath.Join(probe, ctl.file), []byte("-1"), 0)
		if err := os.Remove(probe); err != nil {
			return nil, fmt.Errorf("remove probe cgroup %s: %w", probe, err)
		}
		if werr != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCgroups, werr)
		}
		*ctl.dst = dir
	}
	return c, nil
}

// ownCgroups parses /proc/self/cgroup ("4:memory:/a/b", "1:cpu,cpuacct:/") into
// controller → path.
func ownCgroups(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl != "" {
				out[ctl] = parts[2]
			}
		}
	}
	return out
}

// Group is one memory size's cpu and memory cgroups.
type Group struct {
	cpu, memory string
}

// Create makes the groups for one Lambda memory size on a machine of cores cores:
// its CPU share as a CFS quota, its memory size as the memory limit (and as the
// memory+swap limit where the kernel has one, so nothing is swapped instead).
func (c *Cgroups) Create(name string, memoryMB, cores int) (*Group, error) {
	share, err := CPUShare(memoryMB, cores)
	if err != nil {
		return nil, err
	}
	g := &Group{cpu: filepath.Join(c.cpu, name), memory: filepath.Join(c.memory, name)}
	for _, d := range []string{g.cpu, g.memory} {
		if err := os.Mkdir(d, 0o755); err != nil {
			g.Remove(context.Background())
			return nil, fmt.Errorf("cgroup %s: %w", d, err)
		}
	}
	writes := []struct{ file, value string }{
		{filepath.Join(g.cpu, "cpu.cfs_period_us"), strconv.Itoa(CFSPeriodMicros)},
		{filepath.Join(g.cpu, "cpu.cfs_quota_us"), strconv.FormatInt(CFSQuotaMicros(share), 10)},
		{filepath.Join(g.memory, "memory.limit_in_bytes"), strconv.FormatInt(MemoryLimitBytes(memoryMB), 10)},
	}
	if _, err := os.Stat(filepath.Join(g.memory, "memory.memsw.limit_in_bytes")); err == nil {
		writes = append(writes, struct{ file, value string }{filepath.Join(g.memory, "memory.memsw.limit_in_bytes"), strconv.FormatInt(MemoryLimitBytes(memoryMB), 10)})
	}
	for _, w := range writes {
		if err := os.WriteFile(w.file, []byte(w.value), 0); err != nil {
			g.Remove(context.Background())
			return nil, fmt.Errorf("cgroup: write %s to %s: %w", w.value, w.file, err)
		}
	}
	return g, nil
}

// Add moves a process into both groups.
func (g *Group) Add(pid int) error {
	for _, d := range []string{g.cpu, g.memory} {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("cgroup: add %d to %s: %w", pid, d, err)
		}
	}
	return nil
}

// OOMKills is how many processes the kernel killed in the memory group for
// reaching its limit (memory.oom_control's oom_kill, Linux 4.13 and later).
func (g *Group) OOMKills() (int, error) {
	b, err := os.ReadFile(filepath.Join(g.memory, "memory.oom_control"))
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, nil
}

// Remove deletes the groups once their processes are gone (a killed process
// leaves its group a moment after it is reaped), waiting until ctx ends.
func (g *Group) Remove(ctx context.Context) error {
	var errs []error
	for _, d := range []string{g.cpu, g.memory} {
		for {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if !errors.Is(err, syscall.EBUSY) || ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("cgroup: remove %s: %w", d, err))
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return errors.Join(errs...)
}
