package rdmasim_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCorePurity keeps the engine and the model deterministic: no wall clock, no
// global randomness, no goroutines, no files in sim, nicmodel, traces' event code
// and algorithms. (Seeded math/rand/v2 generators are fine; its top-level functions
// are not.)
func TestCorePurity(t *testing.T) {
	forbiddenImports := map[string]bool{"os": true, "time": true, "math/rand": true, "net": true, "sync": true}
	forbiddenCalls := map[string]bool{"time.Now": true, "time.Since": true, "rand.IntN": true, "rand.Int": true,
		"rand.Uint64": true, "rand.Float64": true, "rand.Perm": true, "rand.Shuffle": true, "rand.N": true}
	for _, dir := range []string{"sim", "nicmodel", "algorithms", "rdma"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if forbiddenImports[p] {
					t.Errorf("%s imports %q: the core must stay deterministic and pure", path, p)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.GoStmt:
					t.Errorf("%s: a go statement in the core", path)
				case *ast.SelectorExpr:
					if x, ok := n.X.(*ast.Ident); ok && forbiddenCalls[x.Name+"."+n.Sel.Name] {
						t.Errorf("%s: %s.%s in the core", path, x.Name, n.Sel.Name)
					}
				}
				return true
			})
		}
	}
}

// TestCoreKnowsNoAlgorithm: nothing in sim, nicmodel or checker imports the
// built-in algorithms or names one.
func TestCoreKnowsNoAlgorithm(t *testing.T) {
	names := []string{"alock", "spin-naive", "mcs", "ticket", "\"spin\""}
	for _, dir := range []string{"sim", "nicmodel", "checker"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, _ := os.ReadFile(path)
			s := string(src)
			if strings.Contains(s, "rdmasim/algorithms") {
				t.Errorf("%s imports the algorithms package", path)
			}
			for _, n := range names {
				if strings.Contains(strings.ToLower(s), n) {
					t.Errorf("%s mentions %s", path, n)
				}
			}
		}
	}
}

// TestBinaryLinksNoTestHelpers: the rdmasim binary does not link testing or
// rapid (they belong to package rdmatest, which only tests import).
func TestBinaryLinksNoTestHelpers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./cmd/rdmasim").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "testing" || strings.HasPrefix(dep, "pgregory.net/rapid") || strings.HasSuffix(dep, "/rdmatest") {
			t.Errorf("cmd/rdmasim links %s", dep)
		}
	}
}

// TestLayering: workloads and monitors know no backend, and the hardware
// runner never imports the simulator (docs/design.md, "Architecture").
func TestLayering(t *testing.T) {
	forbidden := map[string][]string{
		"./workload":  {"/sim", "/nicmodel", "/checker", "/hwrun", "/algorithms"},
		"./hwrun/...": {"/sim", "/nicmodel", "/checker", "/algorithms"},
		"./checker":   {"/algorithms", "/hwrun", "/rdmatest"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == "github.com/rdmasim/rdmasim"+b {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
