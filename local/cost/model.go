package cost

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// FullVCPUMemoryMB is the memory setting at which Lambda gives a function one full
// vCPU; below it, CPU share (and so CPU-bound speed) scales with memory.
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
const FullVCPUMemoryMB = 1769

// Function is one Lambda's work per image.
type Function struct {
	Name     string
	MemoryMB int
	// CPU is the CPU time per image on one full core (measured); at less than
	// FullVCPUMemoryMB it stretches in proportion.
	CPU time.Duration
	// Wait is time spent waiting on other services (S3, Rekognition, OpenSearch)
	// plus invocation overhead: billed, but not stretched by a smaller CPU share.
	Wait time.Duration
	// Measured is the mean billed duration measured at MemoryMB (imagepipe tune);
	// when set, CPU and Wait are not used.
	Measured time.Duration `json:",omitempty"`
}

// Billed is the billed duration per invocation, rounded up to Lambda's 1 ms.
func (f Function) Billed() time.Duration {
	if f.Measured > 0 {
		return (f.Measured + time.Millisecond - 1).Truncate(time.Millisecond)
	}
	cpu := float64(f.CPU)
	if f.MemoryMB > 0 && f.MemoryMB < FullVCPUMemoryMB {
		cpu *= float64(FullVCPUMemoryMB) / float64(f.MemoryMB)
	}
	d := time.Duration(cpu) + f.Wait
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// GBSeconds is the billed GB-seconds per invocation.
func (f Function) GBSeconds() float64 {
	return f.Billed().Seconds() * float64(f.MemoryMB) / 1024
}

// Inputs describes the pipeline's work per image and the month's volume.
type Inputs struct {
	Images    float64    // images processed in the month
	Functions []Function // one invocation each per image
	X86       bool       // price Lambda as x86_64 instead of arm64

	// Transitions is the Standard workflow's state transitions per image (the happy
	// path of pipeline.asl.json; see Transitions).
	Transitions int
	// Execution is one workflow's duration, for the Express alternative.
	Execution time.Duration
	// ExpressMemoryMB is the Express billing memory (64 MB chunks; our payloads are
	// small, so the 64 MB minimum).
	ExpressMemoryMB int

	Rekognition bool // labels from Rekognition DetectLabels (one call per image)
	// DuplicateRate is the fraction of images (0 to < 1) whose bytes were labelled
	// before: detect-labels copies those labels instead of calling Rekognition.
	DuplicateRate float64
	S3Puts        float64 // per image: the upload, the thumbnail, the preview
	S3Gets        float64 // per image: each step's read of the object, Rekognition's

	OpenSearchInstance  string // an instance type in Prices.OpenSearchPerHour
	OpenSearchNodes     int
	OpenSearchStorageGB float64
}

// Line is one cost item.
type Line struct {
	Item    string  `json:"item"`
	Formula string  `json:"formula"`
	PerM    float64 `json:"perMillion"` // dollars per million images
	Total   float64 `json:"total"`      // dollars for Inputs.Images
}

// Estimate is the model's answer.
type Estimate struct {
	PricesDate string  `json:"pricesDate"`
	Images     float64 `json:"images"`
	Lines      []Line  `json:"lines"`
	PerM       float64 `json:"perMillion"`
	Total      float64 `json:"total"`
	// LambdaPerM is the Lambda part alone, comparable with the workshop's figure.
	LambdaPerM float64 `json:"lambdaPerMillion"`
	// Express is what the workflow line would cost as an Express workflow.
	Express Line `json:"expressAlternative"`
	// Copied is what copying labels of duplicates saved on Rekognition (not in
	// Lines: the Rekognition line is already net of it); empty at no duplicates.
	Copied Line `json:"rekognitionSaved,omitzero"`
	// Workshop is the workshop's own Lambda figure, scaled to Images.
	Workshop Line `json:"workshop"`
}

// Workshop figures: its Lambda took about 8 s per image at 512 MB (x86, before arm64
// existed), which it priced at $13,369.13 for 200 million images.
const (
	WorkshopSeconds  = 8.0
	WorkshopMemoryMB = 512
	WorkshopDollars  = 13369.13
	WorkshopImages   = 200e6
)

// Compute prices in with p. Per-million figures take the month's volume into account
// where prices are tiered or fixed (Rekognition, OpenSearch).
func Compute(in Inputs, p Prices) (Estimate, error) {
	if in.Images <= 0 {
		return Estimate{}, fmt.Errorf("images must be positive, got %v", in.Images)
	}
	e := Estimate{PricesDate: p.Date, Images: in.Images}
	add := func(item, formula string, perImage float64) {
		e.Lines = append(e.Lines, Line{Item: item, Formula: formula, PerM: perImage * 1e6, Total: perImage * in.Images})
	}
	gbs, arch := p.LambdaArmPerGBSecond, "arm64"
	if in.X86 {
		gbs, arch = p.LambdaX86PerGBSecond, "x86_64"
	}
	lambdaPerImage := 0.0
	for _, f := range in.Functions {
		if f.MemoryMB <= 0 {
			return Estimate{}, fmt.Errorf("function %s: memory must be positive", f.Name)
		}
		c := f.GBSeconds() * gbs
		lambdaPerImage += c
		add("Lambda "+f.Name, fmt.Sprintf("%d ms x %d MB = %.4f GB-s x $%.10f (%s)", f.Billed().Milliseconds(), f.MemoryMB, f.GBSeconds(), gbs, arch), c)
	}
	reqs := float64(len(in.Functions)) * p.LambdaPerRequest
	lambdaPerImage += reqs
	add("Lambda requests", fmt.Sprintf("%d invocations x $%.2f/M", len(in.Functions), p.LambdaPerRequest*1e6), reqs)
	e.LambdaPerM = lambdaPerImage * 1e6

	add("Step Functions Standard", fmt.Sprintf("%d transitions x $%.3f/1000", in.Transitions, p.SFNStandardPerTransition*1000),
		float64(in.Transitions)*p.SFNStandardPerTransition)

	mem := in.ExpressMemoryMB
	if mem <= 0 {
		mem = 64
	}
	mem = (mem + 63) / 64 * 64
	billed := math.Ceil(in.Execution.Seconds()*10) / 10 // 100 ms increments
	expressGBs := billed * float64(mem) / 1024
	ex := p.SFNExpressPerRequest + expressGBs*p.SFNExpressPerGBSecond
	e.Express = Line{Item: "Step Functions Express (alternative)",
		Formula: fmt.Sprintf("$%.2f/M requests + %.1f s x %d MB = %.5f GB-s x $%.8f", p.SFNExpressPerRequest*1e6, billed, mem, expressGBs, p.SFNExpressPerGBSecond),
		PerM:    ex * 1e6, Total: ex * in.Images}

	if in.DuplicateRate < 0 || in.DuplicateRate >= 1 {
		return Estimate{}, fmt.Errorf("duplicate rate must be at least 0 and below 1, got %v", in.DuplicateRate)
	}
	if in.Rekognition {
		// Tiers apply to the calls made: a copy is not a call.
		calls := in.Images * (1 - in.DuplicateRate)
		total := tiered(calls, p.RekognitionDetectLabels)
		add("Rekognition DetectLabels", fmt.Sprintf("tiered $%.5f..$%.5f per image at %s calls/month", p.RekognitionDetectLabels[0].Price, p.RekognitionDetectLabels[len(p.RekognitionDetectLabels)-1].Price, human(math.Round(calls))), total/in.Images)
		if in.DuplicateRate > 0 {
			saved := tiered(in.Images, p.RekognitionDetectLabels) - total
			e.Copied = Line{Item: "Rekognition saved by copying labels (not in the total)",
				Formula: fmt.Sprintf("%.0f%% of %s images are bytes labelled before: labels copied from their document", in.DuplicateRate*100, human(in.Images)),
				PerM:    saved / in.Images * 1e6, Total: saved}
		}
	}
	add("S3 PUT requests", fmt.Sprintf("%g x $%.3f/1000", in.S3Puts, p.S3PerPut*1000), in.S3Puts*p.S3PerPut)
	add("S3 GET requests", fmt.Sprintf("%g x $%.4f/1000", in.S3Gets, p.S3PerGet*1000), in.S3Gets*p.S3PerGet)

	if in.OpenSearchNodes > 0 {
		hourly, ok := p.OpenSearchPerHour[in.OpenSearchInstance]
		if !ok {
			return Estimate{}, fmt.Errorf("no price for OpenSearch instance %q (known: %v)", in.OpenSearchInstance, instanceTypes(p))
		}
		month := float64(in.OpenSearchNodes)*hourly*HoursPerMonth + float64(in.OpenSearchNodes)*in.OpenSearchStorageGB*p.OpenSearchStoragePerGBMonth
		add("OpenSearch domain (month)", fmt.Sprintf("%d x %s $%.3f/h x %d h + %g GB x $%.3f/GB-month, spread over %s images",
			in.OpenSearchNodes, in.OpenSearchInstance, hourly, HoursPerMonth, float64(in.OpenSearchNodes)*in.OpenSearchStorageGB, p.OpenSearchStoragePerGBMonth, human(in.Images)), month/in.Images)
	}
	for _, l := range e.Lines {
		e.PerM += l.PerM
		e.Total += l.Total
	}
	w := WorkshopDollars / WorkshopImages
	e.Workshop = Line{Item: "Workshop Lambda (its own figure)",
		Formula: fmt.Sprintf("%.0f s x %d MB; $%.2f for %s images", WorkshopSeconds, WorkshopMemoryMB, WorkshopDollars, human(WorkshopImages)),
		PerM:    w * 1e6, Total: w * in.Images}
	return e, nil
}

// WorkshopCheck recomputes the workshop's figure with this model's x86 prices, so the
// comparison rests on the same arithmetic: 8 s x 0.5 GB x price + one request.
func WorkshopCheck(p Prices) float64 {
	f := Function{MemoryMB: WorkshopMemoryMB, Wait: time.Duration(WorkshopSeconds * float64(time.Second))}
	return WorkshopImages * (f.GBSeconds()*p.LambdaX86PerGBSecond + p.LambdaPerRequest)
}

func instanceTypes(p Prices) []string {
	var out []string
	for k := range p.OpenSearchPerHour {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// human writes 200000000 as "200M".
func human(n float64) string {
	switch {
	case n >= 1e9 && math.Mod(n, 1e9) == 0:
		return fmt.Sprintf("%gB", n/1e9)
	case n >= 1e6 && math.Mod(n, 1e6) == 0:
		return fmt.Sprintf("%gM", n/1e6)
	case n >= 1e3 && math.Mod(n, 1e3) == 0:
		return fmt.Sprintf("%gk", n/1e3)
	}
	return fmt.Sprintf("%g", n)
}
