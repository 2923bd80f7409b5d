package statemachine

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// variablePattern is the placeholder syntax CloudFormation's Fn::Sub (and so the
// DefinitionSubstitutions of AWS::StepFunctions::StateMachine) accepts.
var variablePattern = regexp.MustCompile(`\$\{([A-Za-z0-9_.:]+)\}`)

// MissingVariableError names substitution variables a definition uses but the caller
// did not provide.
type MissingVariableError struct {
	Names []string
}

func (e *MissingVariableError) Error() string {
	return "definition substitution: no value for ${" + strings.Join(e.Names, "}, ${") + "}"
}

// Variables returns the distinct ${Name} variables of def, sorted.
func Variables(def []byte) []string {
	var names []string
	for _, m := range variablePattern.FindAllSubmatch(def, -1) {
		names = append(names, string(m[1]))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Substitute replaces every ${Name} in def with vars[Name], as Step Functions does
// with DefinitionSubstitutions. It fails with *MissingVariableError when def uses a
// variable that vars lacks, so a half-configured definition never runs. Values are
// escaped as JSON string content, because the placeholders sit inside JSON strings;
// the result is checked to be valid JSON.
func Substitute(def []byte, vars map[string]string) ([]byte, error) {
	var missing []string
	for _, name := range Variables(def) {
		if _, ok := vars[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingVariableError{Names: missing}
	}
	out := variablePattern.ReplaceAllFunc(def, func(m []byte) []byte {
		quoted, _ := json.Marshal(vars[string(m[2:len(m)-1])]) // a string always marshals
		return quoted[1 : len(quoted)-1]
	})
	if !json.Valid(out) {
		return nil, fmt.Errorf("definition substitution: result is not valid JSON")
	}
	return out, nil
}
