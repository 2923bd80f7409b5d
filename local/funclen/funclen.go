// Package funclen enforces the project's function-length rule: no non-test function
// longer than MaxLines, unless a comment right above it says why (an exemption that
// starts with ExemptMarker and gives a reason). It reads Go sources with go/ast only,
// so it runs wherever the Go toolchain does.
package funclen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
)

// MaxLines is the longest a function may be, counted from its func line to its
// closing brace inclusive.
const MaxLines = 100

// ExemptMarker starts the comment line that exempts a function: the rest of the line
// is the reason, and it must not be empty ("//funclen:allow one story: the RFC's table").
const ExemptMarker = "funclen:allow"

// Finding is one function over the limit, or an exemption without a reason.
type Finding struct {
	Pos   token.Position
	Func  string
	Lines int
	Issue string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Pos, f.Func, f.Issue)
}

// skipDir names folders that hold no project Go code (or someone else's).
func skipDir(name string) bool {
	return name == "node_modules" || name == "testdata" || name == "vendor" ||
		(strings.HasPrefix(name, ".") && name != ".")
}

// CheckTree checks every non-test .go file below root.
func CheckTree(root string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		found, err := CheckFile(path)
		if err != nil {
			return err
		}
		out = append(out, found...)
		return nil
	})
	return out, err
}

// CheckFile checks one Go source file.
func CheckFile(path string) ([]Finding, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("funclen: %w", err)
	}
	var out []Finding
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			return true
		}
		start, end := fset.Position(fd.Pos()), fset.Position(fd.End())
		lines := end.Line - start.Line + 1
		name := funcName(fd)
		reason, exempt := exemption(fd.Doc)
		switch {
		case exempt && reason == "":
			out = append(out, Finding{Pos: start, Func: name, Lines: lines, Issue: ExemptMarker + " without a reason"})
		case lines > MaxLines && !exempt:
			out = append(out, Finding{Pos: start, Func: name, Lines: lines,
				Issue: fmt.Sprintf("%d lines, over %d (split it, or say why above it: //%s REASON)", lines, MaxLines, ExemptMarker)})
		}
		return false
	})
	return out, nil
}

// exemption finds the marker in a function's doc comment and returns its reason.
func exemption(doc *ast.CommentGroup) (string, bool) {
	if doc == nil {
		return "", false
	}
	for _, c := range doc.List {
		text := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
		if rest, ok := strings.CutPrefix(text, ExemptMarker); ok {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}
