package sfn

import "context"

type roleKey struct{}

// RoleFrom is the IAM role of the state machine whose execution made the call ctx
// belongs to ("" outside an execution): an Invoker or MessageSender checks the
// role's permission for a Task with it, as Step Functions acts as that role.
func RoleFrom(ctx context.Context) string {
	r, _ := ctx.Value(roleKey{}).(string)
	return r
}

func withRole(ctx context.Context, role string) context.Context {
	return context.WithValue(ctx, roleKey{}, role)
}
