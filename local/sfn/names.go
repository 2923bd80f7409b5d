package sfn

import (
	"github.com/imagepipe/imagepipe/local/awsid"

	"crypto/rand"
	"fmt"
	"strings"
	"unicode"
)

// The twin is one account in one region, as a default AWS CLI profile would see it.
const (
	Region    = awsid.Region
	AccountID = awsid.Account

	arnPrefix = "arn:aws:states:" + Region + ":" + AccountID + ":"
)

// StateMachineARN is the ARN of the state machine called name.
func StateMachineARN(name string) string { return arnPrefix + "stateMachine:" + name }

// ExecutionARN is the ARN of execution name of state machine sm.
func ExecutionARN(sm, name string) string { return arnPrefix + "execution:" + sm + ":" + name }

// parseStateMachineARN returns the name in a state machine ARN. A well-formed ARN of
// another region or account parses (ok) but names nothing here (found false).
func parseStateMachineARN(arn string) (name string, found bool, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 7 || parts[0] != "arn" || parts[1] == "" || parts[2] != "states" || parts[5] != "stateMachine" || parts[6] == "" {
		return "", false, invalidArn(arn)
	}
	return parts[6], parts[1] == "aws" && parts[3] == Region && parts[4] == AccountID && validName(parts[6]) == nil, nil
}

// ExpressExecutionARN is the ARN of one run of an Express state machine: Express
// names need not be unique, so AWS adds a run id (arn:...:express:<sm>:<name>:<id>).
func ExpressExecutionARN(sm, name, id string) string {
	return arnPrefix + "express:" + sm + ":" + name + ":" + id
}

// isExpressARN reports an Express execution's ARN.
func isExpressARN(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) == 9 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "express"
}

// parseExecutionARN returns the state machine and execution names in an execution ARN.
// An Express execution's ARN is refused as AWS refuses it in the execution APIs
// (DescribeExecution, GetExecutionHistory, StopExecution, RedriveExecution), which
// Express workflows do not support.
func parseExecutionARN(arn string) (sm, name string, found bool, err error) {
	if isExpressARN(arn) {
		return "", "", false, apiErr("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
	}
	parts := strings.Split(arn, ":")
	if len(parts) != 8 || parts[0] != "arn" || parts[1] == "" || parts[2] != "states" || parts[5] != "execution" || parts[6] == "" || parts[7] == "" {
		return "", "", false, invalidArn(arn)
	}
	return parts[6], parts[7], parts[1] == "aws" && parts[3] == Region && parts[4] == AccountID, nil
}

func invalidArn(arn string) error {
	return apiErr("InvalidArn", "Invalid Arn: '%s'", truncate(arn, 256))
}

// validName applies the naming rules AWS documents for state machines and
// executions: 1-80 characters; no whitespace, brackets < > { } [ ], wildcards ? *,
// special characters " # % \ ^ | ~ ` $ & , ; : /, or control characters.
func validName(name string) error {
	n := len([]rune(name))
	if n < 1 || n > 80 {
		return fmt.Errorf("name must be 1 to 80 characters, got %d", n)
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("name must not contain whitespace")
		case r <= 0x1f, r >= 0x7f && r <= 0x9f:
			return fmt.Errorf("name must not contain control characters")
		case strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`"+`$&,;:/`, r):
			return fmt.Errorf("name must not contain %q", r)
		}
	}
	return nil
}

// newUUID is a random RFC 4122 version 4 UUID, the name AWS gives unnamed executions.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
