package s3edge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagepipe/imagepipe/functions/pipeline"
	bolt "go.etcd.io/bbolt"
)

// AbortIncompleteUploadDays reads the AbortIncompleteMultipartUpload rules of a
// bucket's CloudFormation LifecycleConfiguration (the resolved template's
// Properties.LifecycleConfiguration) and returns, for a key, the days after which
// its incomplete uploads are aborted: the smallest DaysAfterInitiation of the
// enabled rules whose Prefix the key has, 0 (never) when none applies. A rule
// with TagFilters never applies: uploads carry no tags.
func AbortIncompleteUploadDays(lifecycle any) func(key string) int {
	type rule struct {
		prefix string
		days   int
	}
	var rules []rule
	lc, _ := lifecycle.(map[string]any)
	list, _ := lc["Rules"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		if status, _ := m["Status"].(string); status != "Enabled" || m["TagFilters"] != nil {
			continue
		}
		abort, _ := m["AbortIncompleteMultipartUpload"].(map[string]any)
		days := toInt(abort["DaysAfterInitiation"])
		if days <= 0 {
			continue
		}
		prefix, _ := m["Prefix"].(string)
		rules = append(rules, rule{prefix, days})
	}
	return func(key string) int {
		best := 0
		for _, r := range rules {
			if strings.HasPrefix(key, r.prefix) && (best == 0 || r.days < best) {
				best = r.days
			}
		}
		return best
	}
}

// toInt reads a template number, which a resolved template may hold as a JSON
// number or a string.
func toInt(v any) int {
	switch n := v.(type) {
	case float64:
		if n > 0 && n < math.MaxInt32 {
			return int(n)
		}
	case int:
		return n
	case json.Number:
		i, _ := strconv.Atoi(string(n))
		return i
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}

// ExpirationRule is one enabled lifecycle rule with an Expiration action, as the
// bucket's CloudFormation LifecycleConfiguration states it: a current object whose
// key has Prefix, that carries every one of Tags and whose size is within the
// bounds expires Days after its creation (rounded up to the next midnight UTC, as
// S3 rounds), or on Date.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
type ExpirationRule struct {
	ID          string
	Prefix      string
	Tags        []Tag
	Days        int
	Date        time.Time
	GreaterThan int64 // ObjectSizeGreaterThan, bytes (0: none)
	LessThan    int64 // ObjectSizeLessThan, bytes (0: none)
}

// ExpirationRules reads the Expiration rules of a bucket's CloudFormation
// LifecycleConfiguration. A rule it cannot read is an error, so that the twin does
// not start with a rule it would silently not apply.
func ExpirationRules(lifecycle any) ([]ExpirationRule, error) {
	lc, _ := lifecycle.(map[string]any)
	list, _ := lc["Rules"].([]any)
	var out []ExpirationRule
	for i, item := range list {
		m, _ := item.(map[string]any)
		if status, _ := m["Status"].(string); status != "Enabled" {
			continue
		}
		days := toInt(m["ExpirationInDays"])
		dateStr, _ := m["ExpirationDate"].(string)
		if days <= 0 && dateStr == "" {
			continue // no Expiration action (an abort rule, a transition)
		}
		r := ExpirationRule{Days: days, GreaterThan: int64(toInt(m["ObjectSizeGreaterThan"])), LessThan: int64(toInt(m["ObjectSizeLessThan"]))}
		r.ID, _ = m["Id"].(string)
		r.Prefix, _ = m["Prefix"].(string)
		if dateStr != "" {
			d, err := time.Parse(time.RFC3339, dateStr)
			if err != nil {
				return nil, fmt.Errorf("LifecycleConfiguration.Rules[%d].ExpirationDate %q: %w", i, dateStr, err)
			}
			r.Date = d
		}
		if raw, ok := m["TagFilters"]; ok {
			tf, ok := raw.([]any)
			if !ok {
				return nil, fmt.Errorf("LifecycleConfiguration.Rules[%d].TagFilters is not a list", i)
			}
			for _, t := range tf {
				tm, _ := t.(map[string]any)
				k, kok := tm["Key"].(string)
				v, vok := tm["Value"].(string)
				if !kok || !vok {
					return nil, fmt.Errorf("LifecycleConfiguration.Rules[%d].TagFilters: a filter needs Key and Value", i)
				}
				r.Tags = append(r.Tags, Tag{k, v})
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// applies reports whether the rule's filter selects an object.
func (r ExpirationRule) applies(key string, rec *record) bool {
	if !strings.HasPrefix(key, r.Prefix) {
		return false
	}
	if r.GreaterThan > 0 && rec.Size <= r.GreaterThan || r.LessThan > 0 && rec.Size >= r.LessThan {
		return false
	}
	for _, want := range r.Tags {
		if !slices.Contains(rec.Tags, want) {
			return false
		}
	}
	return true
}

// expiresAt is when the rule expires an object it applies to.
func (r ExpirationRule) expiresAt(rec *record) time.Time {
	if r.Days > 0 {
		return abortAt(rec.LastModified, r.Days) // the same rounding to midnight UTC
	}
	return r.Date
}

// ReasonLifecycle is the reason of the "Object Deleted" event a lifecycle
// expiration raises (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html).
const ReasonLifecycle = "Lifecycle Expiration"

// ExpireObjects deletes the objects the buckets' Expiration rules have expired,
// each with the "Object Deleted" event S3 raises for a lifecycle expiration, and
// returns how many it deleted. S3 runs its lifecycle about once a day; the edge
// runs it at start and every LifecycleEvery, on the Options.Now clock.
func (s *Server) ExpireObjects(ctx context.Context) (int, error) {
	if s.opts.ExpirationRules == nil {
		return 0, nil
	}
	n := 0
	for _, bucket := range s.opts.Buckets {
		rules := s.opts.ExpirationRules(bucket)
		if len(rules) == 0 {
			continue
		}
		due, err := s.store.expired(bucket, rules, s.opts.Now())
		if err != nil {
			return n, err
		}
		for _, key := range due {
			ok, err := s.expireOne(ctx, bucket, key, rules)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
	}
	return n, nil
}

// expireOne deletes one object if it is still expired once its key is held (a
// newer write or new tags may have saved it).
func (s *Server) expireOne(ctx context.Context, bucket, key string, rules []ExpirationRule) (bool, error) {
	unlock := s.locks.lock(objectLockName(bucket, key))
	defer unlock()
	rec, err := s.store.lookup(bucket, key)
	if err != nil {
		return false, nil // deleted meanwhile
	}
	rule, ok := expiredBy(rules, key, rec, s.opts.Now())
	if !ok {
		return false, nil
	}
	var base *eventInfo
	if s.opts.Emit != nil && (s.opts.Events == nil || s.opts.Events(bucket)) {
		base = &eventInfo{detailType: pipeline.DetailTypeDeleted, reason: ReasonLifecycle, bucket: bucket,
			requestID: newRequestID(), requester: "s3.amazonaws.com", at: s.opts.Now()}
	}
	st, err := s.store.remove(bucket, []string{key}, base, true)
	if err != nil {
		return false, err
	}
	s.log.Info("object expired by lifecycle rule", "bucket", bucket, "key", key, "rule", rule.ID, "created", rec.LastModified)
	if err := s.deliver(ctx, st); err != nil {
		return true, fmt.Errorf("s3edge: expire %s: %w", key, err)
	}
	return true, nil
}

// expiredBy finds the first rule that has expired an object by now.
func expiredBy(rules []ExpirationRule, key string, rec *record, now time.Time) (ExpirationRule, bool) {
	for _, r := range rules {
		if r.applies(key, rec) && !now.Before(r.expiresAt(rec)) {
			return r, true
		}
	}
	return ExpirationRule{}, false
}

// expired lists the keys of bucket that rules have expired by now.
func (s *store) expired(bucket string, rules []ExpirationRule, now time.Time) ([]string, error) {
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(objBucket(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec record
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("s3edge: record %q: %w", k, err)
			}
			if _, ok := expiredBy(rules, string(k), &rec, now); ok {
				keys = append(keys, string(k))
			}
			return nil
		})
	})
	return keys, err
}
