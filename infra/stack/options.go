package stack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Context keys read by New when the matching Props field is empty.
const (
	ContextFaults          = "faults"
	ContextRedriveSchedule = "redriveSchedule"
)

// FaultFunctions are the Lambdas that honour FAULT_MODE (the pipeline's steps).
var FaultFunctions = []string{FnExtractMetadata, FnDetectLabels, FnMakeThumbnail, FnIndexDocument, FnRemoveDocument}

// ParseFaults reads the faults context: comma-separated FUNCTION=MODE items, where
// MODE is off, always, throttle, rate=F (0<F<=1) or latency=D (a Go duration, at most
// 15m), e.g. "index-document=always,detect-labels=rate=0.3". "off" items are dropped
// (FAULT_MODE stays unset). The grammar is package faults' Parse, which each Lambda
// applies again at init; checking here fails the synth instead of the deploy.
func ParseFaults(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		name, mode, ok := strings.Cut(strings.TrimSpace(item), "=")
		name, mode = strings.TrimSpace(name), strings.ToLower(strings.TrimSpace(mode))
		if !ok || name == "" || mode == "" {
			return nil, fmt.Errorf("faults: %q is not FUNCTION=MODE", item)
		}
		if !slices.Contains(FaultFunctions, name) {
			return nil, fmt.Errorf("faults: %q is not one of %s", name, strings.Join(FaultFunctions, ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("faults: %s named twice", name)
		}
		seen[name] = true
		if err := checkFaultMode(mode); err != nil {
			return nil, fmt.Errorf("faults: %s: %w", name, err)
		}
		if mode != "off" {
			out[name] = mode
		}
	}
	return out, nil
}

func checkFaultMode(mode string) error {
	switch mode {
	case "off", "always", "throttle":
		return nil
	}
	bad := fmt.Errorf("mode %q: must be off, always, throttle, rate=F (0<F<=1) or latency=D (e.g. 2s)", mode)
	kind, val, _ := strings.Cut(mode, "=")
	switch kind {
	case "rate":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return bad
		}
		return nil
	case "latency":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 || d > 15*time.Minute {
			return bad
		}
		return nil
	}
	return bad
}

// CheckSchedule accepts an EventBridge schedule expression: rate(...) or cron(...).
func CheckSchedule(expr string) error {
	e := strings.TrimSpace(expr)
	if (strings.HasPrefix(e, "rate(") || strings.HasPrefix(e, "cron(")) && strings.HasSuffix(e, ")") && len(e) > len("rate()") {
		return nil
	}
	return fmt.Errorf("redriveSchedule %q: want rate(...) or cron(...), e.g. \"rate(1 hour)\"", expr)
}
