package funclen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagepipe/imagepipe/local/funclen"
)

// modules are the repository's Go modules, relative to this package.
var modules = []string{"functions", "local", "statemachine", "infra", "test"}

// TestRepositoryFunctionLength holds the whole repository to the rule.
func TestRepositoryFunctionLength(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, m := range modules {
		dir := filepath.Join(root, m)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			t.Fatalf("module %s: %v", m, err)
		}
		found, err := funclen.CheckTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			t.Errorf("%s", f)
		}
	}
}

func body(n int) string {
	return strings.Repeat("\tx++\n", n)
}

func TestCheckFile(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string // the functions reported
	}{
		{"at the limit", "func ok() {\n\tx := 0\n" + body(96) + "\t_ = x\n}\n", nil},
		{"one over", "func long() {\n\tx := 0\n" + body(97) + "\t_ = x\n}\n", []string{"long"}},
		{"method", "type T struct{}\n\nfunc (t *T) long() {\n\tx := 0\n" + body(120) + "\t_ = x\n}\n", []string{"T.long"}},
		{"exempt with a reason", "//funclen:allow one table, read top to bottom\nfunc long() {\n\tx := 0\n" + body(120) + "\t_ = x\n}\n", nil},
		{"exempt without a reason", "// long does things.\n//\n//funclen:allow\nfunc short() {}\n", []string{"short"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.go")
			if err := os.WriteFile(path, []byte("package x\n\nvar x int\n\n"+c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			found, err := funclen.CheckFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range found {
				got = append(got, f.Func)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("reported %v, want %v (%v)", got, c.want, found)
			}
		})
	}
}

func TestCheckFileSyntaxError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.go")
	if err := os.WriteFile(path, []byte("package x\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := funclen.CheckFile(path); err == nil {
		t.Fatal("no error for a file that does not parse")
	}
}

func TestCheckTreeSkipsTests(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\nvar x int\n\nfunc long() {\n" + body(150) + "}\n"
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", "y.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	found, err := funclen.CheckTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Errorf("reported %v in tests and node_modules", found)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if found, _ = funclen.CheckTree(dir); len(found) != 1 {
		t.Errorf("reported %v, want the one long function", found)
	}
}
