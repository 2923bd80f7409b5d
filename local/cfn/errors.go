package cfn

import "errors"

// ErrUnsupported is wrapped by every error about something the twin does not
// model: an intrinsic function, a template Transform, or a Ref/Fn::GetAtt on a type
// or attribute it does not know.
var ErrUnsupported = errors.New("not supported by the twin")

// Error is a problem at one place in a template, e.g.
// "resource ImagesBucketABC, Properties.Foo[2]: Fn::Cidr is not supported by the twin".
type Error struct {
	Where string // "resource <LogicalId>", "output <Name>", "condition <Name>", "parameter <Name>" or "template"
	Path  string // "Properties.Foo[2]", "Value"...; empty when the whole item is meant
	Err   error
}

func (e *Error) Error() string {
	s := e.Where
	if e.Path != "" {
		s += ", " + e.Path
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
