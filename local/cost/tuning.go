package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"
)

// Tuning is the table `imagepipe tune --write` leaves: each pipeline function
// measured at Lambda memory sizes under the twin's Runtime API, and the size chosen
// for it. The committed tuned.json is what the cost model prices by default.
type Tuning struct {
	Generated   string          `json:"generated"` // RFC 3339
	Machine     string          `json:"machine"`
	Cores       int             `json:"cores"`
	Runs        int             `json:"runs"`    // warm invocations per photo and size
	Bound       float64         `json:"bound"`   // p95 within Bound × the fastest size's p95, per photo,
	SlackMs     float64         `json:"slackMs"` // or within SlackMs of it, whichever is more
	Photos      []string        `json:"photos"`
	Assumptions []string        `json:"assumptions"`
	PricesDate  string          `json:"pricesDate"`
	Functions   []TunedFunction `json:"functions"`
}

// TunedFunction is one function's measurements and choice.
type TunedFunction struct {
	Name     string      `json:"name"`
	FloorMB  int         `json:"floorMB"` // the least memory the function may be given, whatever it measures
	FloorWhy string      `json:"floorWhy,omitempty"`
	ChosenMB int         `json:"chosenMB"`
	Why      string      `json:"why"`
	Sizes    []TunedSize `json:"sizes"`
}

// TunedSize is one function at one memory size, over every photo.
type TunedSize struct {
	MemoryMB        int          `json:"memoryMB"`
	CPUShare        float64      `json:"cpuShare"` // vCPUs given (cgroup CFS quota)
	P50Ms           float64      `json:"p50Ms"`
	P95Ms           float64      `json:"p95Ms"`
	MeanBilledMs    float64      `json:"meanBilledMs"`   // warm invocations, every photo equally
	CostPerMillion  float64      `json:"costPerMillion"` // dollars per million invocations at MeanBilledMs
	InitMs          float64      `json:"initMs"`         // the cold start's Init Duration
	MaxMemoryUsedMB int64        `json:"maxMemoryUsedMB"`
	OOM             int          `json:"oom"`
	Errors          int          `json:"errors"` // function errors other than out of memory
	ErrorSample     string       `json:"errorSample,omitempty"`
	Photos          []TunedPhoto `json:"photos"`
}

// TunedPhoto is one function at one size on one photo.
type TunedPhoto struct {
	Photo        string  `json:"photo"`
	N            int     `json:"n"` // successful warm invocations
	P50Ms        float64 `json:"p50Ms"`
	P95Ms        float64 `json:"p95Ms"`
	MeanBilledMs float64 `json:"meanBilledMs"`
}

// Size returns the measurements at memoryMB.
func (f TunedFunction) Size(memoryMB int) (TunedSize, bool) {
	for _, s := range f.Sizes {
		if s.MemoryMB == memoryMB {
			return s, true
		}
	}
	return TunedSize{}, false
}

// InvocationCostPerMillion is what a million invocations of billedMs at memoryMB
// cost on arm64: GB-seconds at the arm64 price plus the request price.
func InvocationCostPerMillion(memoryMB int, billedMs float64, p Prices) float64 {
	gbs := billedMs / 1000 * float64(memoryMB) / 1024
	return 1e6 * (gbs*p.LambdaArmPerGBSecond + p.LambdaPerRequest)
}

//go:embed tuned.json
var tunedJSON []byte

// Tuned is the committed table (local/cost/tuned.json).
func Tuned() (Tuning, error) { return ParseTuning(tunedJSON) }

// ParseTuning reads a table `imagepipe tune --write` wrote.
func ParseTuning(b []byte) (Tuning, error) {
	var t Tuning
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("tuning table: %w", err)
	}
	for _, f := range t.Functions {
		s, ok := f.Size(f.ChosenMB)
		if !ok {
			return t, fmt.Errorf("tuning table: %s: chosen size %d MB was not measured", f.Name, f.ChosenMB)
		}
		if s.MeanBilledMs <= 0 {
			return t, fmt.Errorf("tuning table: %s at %d MB has no billed duration", f.Name, f.ChosenMB)
		}
	}
	return t, nil
}

// ChosenFunctions are the chosen sizes as the model's per-invocation figures.
func (t Tuning) ChosenFunctions() []Function {
	var out []Function
	for _, f := range t.Functions {
		s, _ := f.Size(f.ChosenMB)
		out = append(out, Function{Name: f.Name, MemoryMB: f.ChosenMB,
			Measured: time.Duration(s.MeanBilledMs * float64(time.Millisecond))})
	}
	return out
}
