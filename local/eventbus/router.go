package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/imagepipe/imagepipe/functions/pipeline"
)

// Target receives a matched event. It must return only once the event is safely
// handed over (for a state machine target: the execution is durable).
type Target func(ctx context.Context, event []byte) error

// Rule is one EventBridge rule: a pattern and the target of its matches.
type Rule struct {
	Name    string
	Pattern map[string]any // an EventBridge event pattern, as JSON decodes it
	Target  Target
}

// Router delivers events to the targets of the rules they match.
type Router struct {
	rules []compiledRule
}

type compiledRule struct {
	name    string
	pattern *Pattern
	target  Target
}

// NewRouter compiles the rules' patterns; an unsupported pattern is an error here.
func NewRouter(rules ...Rule) (*Router, error) {
	r := &Router{}
	for _, rule := range rules {
		p, err := Compile(rule.Pattern)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", rule.Name, err)
		}
		if rule.Target == nil {
			return nil, fmt.Errorf("rule %s: no target", rule.Name)
		}
		r.rules = append(r.rules, compiledRule{rule.Name, p, rule.Target})
	}
	return r, nil
}

// Dispatch delivers ev to every matching rule's target, synchronously: when it
// returns nil, each target has accepted the event (the S3 edge calls it before it
// answers the request that raised the event, so nothing acknowledged is lost). It
// returns the targets' errors joined.
func (r *Router) Dispatch(ctx context.Context, ev pipeline.ObjectEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = r.DispatchJSON(ctx, b)
	return err
}

// DispatchJSON is Dispatch for an event already in JSON; it also reports how many
// rules matched.
func (r *Router) DispatchJSON(ctx context.Context, event []byte) (matched int, err error) {
	var errs []error
	for _, rule := range r.rules {
		if !rule.pattern.Match(event) {
			continue
		}
		matched++
		if err := rule.target(ctx, event); err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", rule.name, err))
		}
	}
	return matched, errors.Join(errs...)
}
