package eventbus

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/imagepipe/imagepipe/local/quota"
)

// Throttled delays target's invocations past the account's invocation rate, as
// EventBridge does: "After the limit is reached, invocations are throttled; that is,
// they still happen but they are delayed" ("Amazon EventBridge quotas",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html). The
// bucket is the account's, shared by every rule. A delayed invocation is logged under
// the name of EventBridge's metric for it, ThrottledRules. With a nil bucket the
// target is returned as it is.
func Throttled(rule string, target Target, invocations *quota.Bucket, log *slog.Logger) Target {
	if invocations == nil {
		return target
	}
	return func(ctx context.Context, event []byte) error {
		waited, err := invocations.Wait(ctx)
		if err != nil {
			return fmt.Errorf("invocation of rule %s delayed past the invocation quota: %w", rule, err)
		}
		if waited {
			log.Info("EventBridge invocation delayed", "metric", "ThrottledRules", "rule", rule)
		}
		return target(ctx, event)
	}
}
