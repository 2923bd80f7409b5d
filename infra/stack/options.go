package stack

import (
	"github.com/imagepipe/imagepipe/statemachine"

	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"regexp"
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

// FaultFunctions are the Lambdas that honour FAULT_MODE: the state machines' steps.
var FaultFunctions = statemachine.StepFunctions()

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

// Context keys for the deploy's settings (main.go passes -c values through; tests
// set Props directly or give the same keys as context).
const (
	// ContextReservedConcurrency ("true") reserves concurrency for detect-labels and
	// the load tester. Off by default: Lambda refuses a reservation that leaves the
	// account fewer than 100 unreserved executions, and new accounts often have a
	// limit of 10 or 50 in all, so a default reservation fails those deploys.
	ContextReservedConcurrency = "reservedConcurrency"
	// ContextDevOrigin ("true" for http://localhost:5173, or an origin) is allowed by
	// the API's and the images bucket's CORS besides the website's own origin.
	ContextDevOrigin = "devOrigin"
	// ContextLogExecutionData ("true") keeps each execution's input and output (the
	// photo's EXIF, GPS position included) in the state machines' 30-day logs.
	ContextLogExecutionData = "logExecutionData"
	// ContextPrivateFields says who the search API shows GPS position, serial
	// numbers and owner fields to: PrivateFieldsSignedIn or PrivateFieldsIAM.
	ContextPrivateFields = "privateFields"
)

// DefaultDevOrigin is the Vite dev server's origin, what devOrigin=true allows.
const DefaultDevOrigin = "http://localhost:5173"

// Values of the privateFields context (the search function's PRIVATE_FIELDS).
const (
	// PrivateFieldsSignedIn (the default): signed-in users and IAM principals that
	// are not Cognito identities see them; guests never do.
	PrivateFieldsSignedIn = "signed-in"
	// PrivateFieldsIAM: only IAM principals that are not Cognito identities (an
	// operator's CLI) see them; no web user does, signed in or not.
	PrivateFieldsIAM = "iam"
)

// ParseBool reads a boolean context value: true/false (any case), or "" for def.
func ParseBool(key, v string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("context %s=%q: want true or false", key, v)
}

// ParseDevOrigin reads the devOrigin context: "" or "false" is none, "true" is
// DefaultDevOrigin, anything else must be an http(s) origin (scheme, host and an
// optional port; no path), as browsers send it in Origin.
func ParseDevOrigin(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "", "false":
		return "", nil
	case "true":
		return DefaultDevOrigin, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(v, "*'\"") {
		return "", fmt.Errorf("context devOrigin=%q: want true or an origin such as %s", v, DefaultDevOrigin)
	}
	return v, nil
}

// CheckPrivateFields accepts the privateFields values ("" is the default).
func CheckPrivateFields(v string) (string, error) {
	switch v {
	case "":
		return PrivateFieldsSignedIn, nil
	case PrivateFieldsSignedIn, PrivateFieldsIAM:
		return v, nil
	}
	return "", fmt.Errorf("context privateFields=%q: want %s or %s", v, PrivateFieldsSignedIn, PrivateFieldsIAM)
}

// domainNameRE is OpenSearch Service's rule for domain names.
var domainNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{2,27}$`)

// DomainNameFor derives the OpenSearch domain name from the stack name: lower case
// (stack names are letters, digits and hyphens, starting with a letter), at most 28
// characters. A longer name keeps its first 21 characters and a hash of the whole, so
// that two long stack names in one account and region do not collide.
func DomainNameFor(stackName string) string {
	n := strings.ToLower(stackName)
	n = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '-'
	}, n)
	n = strings.TrimLeftFunc(n, func(r rune) bool { return r < 'a' || r > 'z' })
	if len(n) > 28 {
		sum := sha256.Sum256([]byte(stackName))
		n = strings.TrimRight(n[:21], "-") + "-" + hex.EncodeToString(sum[:])[:6]
	}
	n = strings.TrimRight(n, "-")
	if len(n) < 3 { // "" becomes "search", "ab" "ab-search"
		n = strings.TrimLeft(n+"-search", "-")
	}
	return n
}

// Check reports a domain size OpenSearch Service would refuse, or that this stack
// cannot lay out: more than one data node spans two zones, which needs an even count.
func (z SearchSize) Check() error {
	if !domainNameRE.MatchString(z.DomainName) {
		return fmt.Errorf("search domain name %q: 3 to 28 characters, lower-case letters, digits and hyphens, starting with a letter", z.DomainName)
	}
	n := z.InstanceCount
	if n != math.Trunc(n) || n < 1 {
		return fmt.Errorf("searchInstanceCount=%v: want a whole number of data nodes, at least 1", n)
	}
	if n > 1 && int(n)%2 != 0 {
		return fmt.Errorf("searchInstanceCount=%v: more than one data node spreads over two availability zones, which needs an even count (use %v or %v)", n, n-1, n+1)
	}
	if z.VolumeGiB != math.Trunc(z.VolumeGiB) || z.VolumeGiB < 10 {
		return fmt.Errorf("searchVolumeGiB=%v: want a whole number of GiB, at least 10 (gp3's minimum)", z.VolumeGiB)
	}
	return nil
}

// Replicas is the number of replica shards the domain can place: none on one node
// (a replica never shares its primary's node, so one would leave the index yellow
// forever), one with two or more nodes over two zones (a copy in each zone).
func (z SearchSize) Replicas() int {
	if z.InstanceCount > 1 {
		return 1
	}
	return 0
}
