// Package cost turns measured per-image work (Lambda durations and memory, state
// transitions, API calls) into dollars, with dated AWS list prices.
package cost

// PricesDate is the date of the list prices below: AWS us-east-1 on-demand list
// prices as published on each service's pricing page (cited beside each price) in
// June 2025. They were not re-checked since (this machine reaches no AWS page).
// Prices change; the model takes them as inputs so a newer table can be passed in.
const PricesDate = "2025-06"

// Tier is one band of tiered per-unit pricing: units up to UpTo (cumulative, per
// month; 0 = no upper bound) cost Price each.
type Tier struct {
	UpTo  float64
	Price float64
}

// Prices holds every unit price the model uses, in US dollars.
type Prices struct {
	Date string

	// https://aws.amazon.com/lambda/pricing/ (us-east-1): Arm $0.0000133334 per
	// GB-second for the first 7.5 billion GB-seconds a month, x86 $0.0000166667 for
	// the first 6 billion; requests $0.20 per million. Duration is billed per 1 ms.
	LambdaArmPerGBSecond float64
	LambdaX86PerGBSecond float64
	LambdaPerRequest     float64

	// https://aws.amazon.com/step-functions/pricing/ (us-east-1): Standard $0.025
	// per 1,000 state transitions; Express $1.00 per million requests plus
	// $0.00001667 per GB-second for the first 1,000 GB-hours a month (billed in
	// 100 ms and 64 MB increments).
	SFNStandardPerTransition float64
	SFNExpressPerRequest     float64
	SFNExpressPerGBSecond    float64

	// https://aws.amazon.com/rekognition/pricing/ (us-east-1), Image Group 1 APIs
	// (DetectLabels): $0.001 per image for the first 1 million a month, $0.0008 up
	// to 5 million, $0.0006 up to 35 million, $0.00025 beyond.
	RekognitionDetectLabels []Tier

	// https://aws.amazon.com/s3/pricing/ (us-east-1, S3 Standard): PUT, COPY, POST,
	// LIST $0.005 per 1,000; GET $0.0004 per 1,000. Storage is left out: it depends
	// on how long photos are kept, not on processing.
	S3PerPut float64
	S3PerGet float64

	// https://aws.amazon.com/opensearch-service/pricing/ (us-east-1, on-demand):
	// instance hours by type, and gp3 storage $0.122 per GB-month.
	OpenSearchPerHour           map[string]float64
	OpenSearchStoragePerGBMonth float64
}

// HoursPerMonth is the 730-hour month AWS uses for monthly estimates.
const HoursPerMonth = 730

// ListPrices returns the us-east-1 list prices as of PricesDate.
func ListPrices() Prices {
	return Prices{
		Date:                     PricesDate,
		LambdaArmPerGBSecond:     0.0000133334,
		LambdaX86PerGBSecond:     0.0000166667,
		LambdaPerRequest:         0.20 / 1e6,
		SFNStandardPerTransition: 0.025 / 1000,
		SFNExpressPerRequest:     1.00 / 1e6,
		SFNExpressPerGBSecond:    0.00001667,
		RekognitionDetectLabels: []Tier{
			{UpTo: 1e6, Price: 0.001},
			{UpTo: 5e6, Price: 0.0008},
			{UpTo: 35e6, Price: 0.0006},
			{UpTo: 0, Price: 0.00025},
		},
		S3PerPut: 0.005 / 1000,
		S3PerGet: 0.0004 / 1000,
		OpenSearchPerHour: map[string]float64{
			"t3.small.search":  0.036,
			"t3.medium.search": 0.073,
			"m6g.large.search": 0.128,
			"r6g.large.search": 0.167,
		},
		OpenSearchStoragePerGBMonth: 0.122,
	}
}

// tiered prices n units a month through tiers.
func tiered(n float64, tiers []Tier) float64 {
	total, below := 0.0, 0.0
	for _, t := range tiers {
		if n <= below {
			break
		}
		top := n
		if t.UpTo > 0 && t.UpTo < n {
			top = t.UpTo
		}
		total += (top - below) * t.Price
		if t.UpTo == 0 {
			break
		}
		below = t.UpTo
	}
	return total
}
