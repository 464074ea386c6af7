// Package arch holds the test of the rules the packages keep between them (README,
// "Architecture"): which room may import which, and that only main exits.
package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/patinject/patinject"

// rule: a package under from must not import any package under a forbidden prefix.
type rule struct {
	from      string
	forbidden []string
	why       string
}

var rules = []rule{
	{"secret", []string{""}, "secret is the leaf everything else uses: it imports nothing of ours"},
	{"cleanup", []string{"source", "inject", "frontdoor", "resolve", "runner", "cmd"}, "the undo registry knows nothing of who registers"},
	{"source", []string{"inject", "frontdoor", "runner", "cmd"}, "sources never import injectors, front doors, the redactor or the runner"},
	{"inject", []string{"source", "resolve", "cleanup", "frontdoor", "runner", "cmd"}, "injectors never import sources, the resolver or cleanup"},
	{"resolve", []string{"source", "inject", "frontdoor", "runner", "cmd"}, "the resolver knows sources only through the registry it is given"},
	{"runner", []string{""}, "the runner supervises a process and knows nothing of secrets"},
	{"cienv", []string{"source", "inject", "frontdoor", "resolve", "cleanup", "runner", "cmd"}, "the CI context is plumbing for everyone"},
	{"frontdoor", []string{"cmd"}, "nothing imports cmd"},
	{"internal/testpeer", []string{"cmd", "frontdoor"}, "test peers are servers, not patinject"},
}

// mayImportCmd are the main packages that wire cmd: the binary and the wrappers' generator.
var mayImportCmd = map[string]bool{"cmd/patinject": true, "internal/wrappers/gen": true}

type pkgFiles struct {
	imports map[string]token.Position
	exits   []token.Position
	isMain  bool
}

func load(t *testing.T) map[string]*pkgFiles {
	t.Helper()
	root := filepath.Join("..", "..")
	pkgs := map[string]*pkgFiles{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // a module of its own (the Vault plugin)
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		p := pkgs[rel]
		if p == nil {
			p = &pkgFiles{imports: map[string]token.Position{}}
			pkgs[rel] = p
		}
		p.isMain = p.isMain || f.Name.Name == "main"
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if ip == module || strings.HasPrefix(ip, module+"/") {
				p.imports[strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")] = fset.Position(im.Pos())
			}
		}
		full, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(full, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "os" && sel.Sel.Name == "Exit" || id.Name == "log" && strings.HasPrefix(sel.Sel.Name, "Fatal")) {
					p.exits = append(p.exits, fset.Position(sel.Pos()))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 15 {
		t.Fatalf("found only %d packages: is the test run from its own folder?", len(pkgs))
	}
	return pkgs
}

func under(pkg, prefix string) bool {
	return prefix == "" || pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestImportRules(t *testing.T) {
	pkgs := load(t)
	for name, p := range pkgs {
		for imp, pos := range p.imports {
			if under(imp, "cmd") && !under(imp, "cmd/vault-plugin-secrets-azuredevops") && !mayImportCmd[name] {
				t.Errorf("%s imports %s (%s): nothing imports cmd", name, imp, pos)
			}
			for _, r := range rules {
				if !under(name, r.from) {
					continue
				}
				for _, f := range r.forbidden {
					if under(imp, f) && !under(imp, r.from) {
						t.Errorf("%s imports %s (%s): %s", name, imp, pos, r.why)
					}
				}
			}
		}
	}
}

func TestOnlyMainExits(t *testing.T) {
	for name, p := range load(t) {
		if p.isMain {
			continue
		}
		for _, pos := range p.exits {
			t.Errorf("%s calls os.Exit or log.Fatal (%s): only main exits, or cleanup of secret files is skipped", name, pos)
		}
	}
}

// The rules catch what they are for: a made-up package tree that breaks each is refused.
func TestRulesBite(t *testing.T) {
	broken := map[string][]string{
		"secret":          {"cleanup"},
		"inject":          {"source/vault"},
		"source/vault":    {"inject"},
		"frontdoor":       {"cmd"},
		"resolve":         {"frontdoor"},
		"internal/x/tool": {"cmd"},
	}
	for pkg, imps := range broken {
		caught := false
		for _, imp := range imps {
			if under(imp, "cmd") && !mayImportCmd[pkg] {
				caught = true
			}
			for _, r := range rules {
				for _, f := range r.forbidden {
					if under(pkg, r.from) && under(imp, f) && !under(imp, r.from) {
						caught = true
					}
				}
			}
		}
		if !caught {
			t.Errorf("%s importing %v is not caught by any rule", pkg, imps)
		}
	}
}

// cmd/ is wiring: no function in it grows past 50 lines (the engine lives in frontdoor/).
func TestCmdFunctionsAreShort(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "cmd", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cmd files: %v", err)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > 50 {
				t.Errorf("%s: %s is %d lines; cmd/ is wiring, move the logic out", fset.Position(fd.Pos()), fd.Name.Name, n)
			}
		}
	}
}
