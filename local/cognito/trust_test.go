package cognito

import "testing"

// The condition semantics of the built-in trust check, from the IAM policy
// evaluation pages: set operators over multivalued keys, absent keys, negation.
func TestTrustConditions(t *testing.T) {
	amr := []string{"authenticated", "cognito-idp.us-east-1.amazonaws.com/us-east-1_p"}
	for _, c := range []struct {
		op         string
		have, want []string
		ok         bool
	}{
		{"StringEquals", []string{"us-east-1:pool"}, []string{"us-east-1:pool"}, true},
		{"StringEquals", nil, []string{"us-east-1:pool"}, false},
		{"StringNotEquals", nil, []string{"x"}, true}, // an absent key matches a negated operator
		{"StringNotEquals", []string{"x"}, []string{"x"}, false},
		{"ForAnyValue:StringLike", amr, []string{"authenticated"}, true},
		{"ForAnyValue:StringLike", amr, []string{"unauthenticated"}, false},
		{"ForAnyValue:StringLike", nil, []string{"*"}, false},
		{"ForAllValues:StringLike", amr, []string{"authenticated", "cognito-idp.*"}, true},
		{"ForAllValues:StringLike", amr, []string{"authenticated"}, false},
		{"ForAllValues:StringEquals", nil, []string{"x"}, true}, // every one of no values
		{"StringLike", []string{"abc"}, []string{"a?c"}, true},
		{"StringEqualsIgnoreCase", []string{"ABC"}, []string{"abc"}, true},
	} {
		got, err := condition(c.op, c.have, c.want)
		if err != nil || got != c.ok {
			t.Errorf("%s %v %v = %v, %v; want %v", c.op, c.have, c.want, got, err, c.ok)
		}
	}
	for _, op := range []string{"StringEqualsIfExists", "ArnLike", "ForAnyValue:NumericEquals"} {
		if _, err := condition(op, nil, nil); err == nil {
			t.Errorf("%s: want an error naming the operator", op)
		}
	}
	allowGuests := trustStatement{principals: []string{cognitoPrincipal}, actions: []string{"sts:AssumeRoleWithWebIdentity"},
		conditions: map[string]map[string][]string{"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": {"unauthenticated"}}}}
	denyAll := trustStatement{deny: true, principals: []string{"*"}, actions: []string{"sts:*"}, conditions: map[string]map[string][]string{}}
	guest := map[string][]string{"cognito-identity.amazonaws.com:amr": {"unauthenticated"}}
	if err := decideTrust([]trustStatement{allowGuests}, guest); err != nil {
		t.Errorf("allow: %v", err)
	}
	if err := decideTrust([]trustStatement{allowGuests, denyAll}, guest); err == nil {
		t.Error("an explicit Deny must win")
	}
	if err := decideTrust([]trustStatement{allowGuests}, map[string][]string{"cognito-identity.amazonaws.com:amr": amr}); err == nil {
		t.Error("no statement allows a signed-in user: want the implicit deny")
	}
}
