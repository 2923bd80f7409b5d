package twin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/imagepipe/imagepipe/functions/faults"
	"github.com/imagepipe/imagepipe/local/asl"
)

// FaultsPath is where the web listener serves the fault switches, outside the API
// stage's /api/: a twin control with no AWS counterpart, for the developer identity.
const FaultsPath = "/twin/faults"

// FaultTable holds each function's fault mode; `imagepipe fault` changes it at runtime.
type FaultTable struct {
	mu    sync.RWMutex
	modes map[string]faults.Mode
}

// NewFaultTable starts with every function healthy.
func NewFaultTable() *FaultTable { return &FaultTable{modes: map[string]faults.Mode{}} }

// Mode returns the mode of a function name.
func (f *FaultTable) Mode(name string) faults.Mode {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if m, ok := f.modes[name]; ok {
		return m
	}
	return faults.Mode{Kind: faults.Off}
}

// Set changes a function's mode.
func (f *FaultTable) Set(name string, m faults.Mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modes[name] = m
}

func (f *FaultTable) snapshot(names []string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = f.Mode(n).String()
	}
	return out
}

// Handler serves GET /twin/faults (all modes) and PUT /twin/faults/{function} {"mode"}.
func (f *FaultTable) Handler(names []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, FaultsPath), "/")
		switch {
		case r.Method == http.MethodGet && name == "":
			writeJSON(w, http.StatusOK, f.snapshot(names))
		case r.Method == http.MethodPut && name != "":
			if !slices.Contains(names, name) {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "no function " + name + "; functions: " + strings.Join(names, ", ")})
				return
			}
			var body struct {
				Mode string `json:"mode"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"mode\": \"...\"}"})
				return
			}
			m, err := faults.Parse(body.Mode)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			f.Set(name, m)
			writeJSON(w, http.StatusOK, map[string]string{name: m.String()})
		default:
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "GET " + FaultsPath + " or PUT " + FaultsPath + "/{function}"})
		}
	})
}

// faultInvoker applies a function's fault mode (by its functions/cmd name) before
// the Lambda service invokes it. An injected error is returned as the handler would
// return it, so the engine names it as AWS would.
type faultInvoker struct {
	next     asl.Invoker
	table    *FaultTable
	commands map[string]string // function ARN → functions/cmd/<name>
}

func (i faultInvoker) Invoke(ctx context.Context, arn string, payload []byte) ([]byte, error) {
	if name, ok := i.commands[arn]; ok {
		if err := i.table.Mode(name).Apply(ctx, name, rand01); err != nil {
			return nil, err
		}
	}
	return i.next.Invoke(ctx, arn, payload)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
