// Command apicount counts the public API of every Go module in this
// repository: the exported identifiers a user can name.
//
//	go run ./scripts/apicount [-C ROOT] [-v] [-max N]
//
// It finds every go.mod under ROOT, lists each module's packages with
// "go list -export" and reads their types from the compiler's export data
// (so the code must compile). It counts, in each non-test package that is
// neither internal nor a command (package main):
//
//   - names: exported top-level constants, variables, functions and types;
//   - methods: the exported methods of each exported non-interface type,
//     from *T's method set: declared ones and those promoted from embedded
//     fields, internal ones included;
//   - fields: the exported struct fields of each exported type, promoted
//     ones included, and the methods of each exported interface: the shape
//     of a type rather than names of their own, reported separately and not
//     part of the total (the same rule as the 461 identifiers plus 261
//     fields measured before the API was cut).
//
// A type alias to a type in an internal package counts like a type declared
// there: its methods and fields are public API, whatever package declares
// them. An alias to a public type of ours counts as a name only (that
// type's methods count in its own package), and so does an alias to a type
// of another module.
//
// The total is names + methods. With -max N it exits with status 1 when the
// total is above N. -v lists every counted identifier.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

type listedPackage struct {
	ImportPath string
	Name       string
	Export     string
	DepOnly    bool
	Standard   bool
	Incomplete bool
	GoFiles    []string
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }
}

type count struct {
	pkg                    string
	names, methods, fields int
	nameList, methodList   []string
	fieldList              []string
}

func main() {
	root := flag.String("C", ".", "repository root: every module under it is counted")
	maxTotal := flag.Int("max", -1, "exit 1 when names + methods exceed this (negative: no limit)")
	verbose := flag.Bool("v", false, "list every counted identifier")
	flag.Parse()

	mods, err := findModules(*root)
	if err != nil {
		fatalf("%v", err)
	}
	var counts []count
	failed := false
	for _, dir := range mods {
		c, err := countModule(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "apicount: %s: %v\n", dir, err)
			failed = true
			continue
		}
		counts = append(counts, c...)
	}
	if failed {
		os.Exit(1)
	}
	slices.SortFunc(counts, func(a, b count) int { return strings.Compare(a.pkg, b.pkg) })

	width := len("package")
	for _, c := range counts {
		width = max(width, len(c.pkg))
	}
	fmt.Printf("%-*s %7s %7s %7s %7s\n", width, "package", "names", "methods", "total", "fields")
	var t count
	for _, c := range counts {
		fmt.Printf("%-*s %7d %7d %7d %7d\n", width, c.pkg, c.names, c.methods, c.names+c.methods, c.fields)
		t.names += c.names
		t.methods += c.methods
		t.fields += c.fields
	}
	total := t.names + t.methods
	fmt.Printf("%-*s %7d %7d %7d %7d\n", width, fmt.Sprintf("all %d packages", len(counts)), t.names, t.methods, total, t.fields)
	fmt.Printf("exported identifiers: %d (%d names + %d methods); exported struct fields and interface methods: %d (not in the total)\n",
		total, t.names, t.methods, t.fields)
	if *verbose {
		for _, c := range counts {
			fmt.Printf("\n%s\n", c.pkg)
			for _, l := range [][]string{c.nameList, c.methodList, c.fieldList} {
				for _, s := range l {
					fmt.Printf("\t%s\n", s)
				}
			}
		}
	}
	if *maxTotal >= 0 && total > *maxTotal {
		fmt.Printf("apicount: %d exported identifiers, more than the maximum %d\n", total, *maxTotal)
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "apicount: "+format+"\n", args...)
	os.Exit(1)
}

// findModules returns the directories under root holding a go.mod, skipping
// hidden directories, testdata and vendor.
func findModules(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "go.mod" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if len(dirs) == 0 && err == nil {
		err = fmt.Errorf("no go.mod under %s", root)
	}
	return dirs, err
}

// countModule counts the public packages of the module in dir.
func countModule(dir string) ([]count, error) {
	cmd := exec.Command("go", "list", "-e", "-export", "-deps", "-json=ImportPath,Name,Export,DepOnly,Standard,Incomplete,GoFiles,Error,DepsErrors", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	var targets []listedPackage
	var errs []error
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Export != "" {
			exports[p.ImportPath] = p.Export
		}
		if p.DepOnly || p.Standard || p.Name == "main" || isInternal(p.ImportPath) {
			continue
		}
		if p.Error == nil && len(p.GoFiles) == 0 {
			continue // only test files
		}
		if p.Error != nil {
			errs = append(errs, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err))
			continue
		}
		if p.Incomplete || p.Export == "" {
			msg := "no export data"
			if len(p.DepsErrors) > 0 {
				msg = p.DepsErrors[0].Err
			}
			errs = append(errs, fmt.Errorf("%s: %s", p.ImportPath, msg))
			continue
		}
		targets = append(targets, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var counts []count
	for _, p := range targets {
		pkg, err := imp.Import(p.ImportPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p.ImportPath, err)
		}
		counts = append(counts, countPackage(pkg))
	}
	return counts, nil
}

// isInternal reports whether an import path has an element "internal".
func isInternal(path string) bool {
	return slices.Contains(strings.Split(path, "/"), "internal")
}

func countPackage(pkg *types.Package) count {
	c := count{pkg: pkg.Path()}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		c.names++
		c.nameList = append(c.nameList, kind(obj)+" "+name)
		tn, ok := obj.(*types.TypeName)
		if !ok {
			continue
		}
		t := tn.Type()
		if tn.IsAlias() {
			named, ok := types.Unalias(t).(*types.Named)
			if !ok || named.Obj().Pkg() == nil || !isInternal(named.Obj().Pkg().Path()) {
				continue // counted where it is declared, or not ours
			}
			t = named
		}
		for _, m := range methods(t) {
			if types.IsInterface(t) {
				c.fields++
				c.fieldList = append(c.fieldList, "interface method "+name+"."+m)
				continue
			}
			c.methods++
			c.methodList = append(c.methodList, "method "+name+"."+m)
		}
		for _, f := range fields(t) {
			c.fields++
			c.fieldList = append(c.fieldList, "field "+name+"."+f)
		}
	}
	return c
}

func kind(obj types.Object) string {
	switch o := obj.(type) {
	case *types.Const:
		return "const"
	case *types.Var:
		return "var"
	case *types.Func:
		return "func"
	case *types.TypeName:
		if o.IsAlias() {
			return "type (alias)"
		}
		return "type"
	}
	return "?"
}

// methods returns the exported methods of t's method set (of *t unless t is
// an interface), promoted ones marked.
func methods(t types.Type) []string {
	recv := t
	if !types.IsInterface(t) {
		if _, isPtr := t.Underlying().(*types.Pointer); isPtr {
			return nil
		}
		recv = types.NewPointer(t)
	}
	ms := types.NewMethodSet(recv)
	var out []string
	for i := range ms.Len() {
		sel := ms.At(i)
		if !sel.Obj().Exported() {
			continue
		}
		name := sel.Obj().Name()
		if len(sel.Index()) > 1 {
			name += " (promoted)"
		}
		out = append(out, name)
	}
	return out
}

// fields returns the exported fields of t's struct type and those promoted
// from its embedded fields (the shallowest of each name), promoted ones
// marked.
func fields(t types.Type) []string {
	type level struct {
		s        *types.Struct
		promoted bool
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	visited := map[types.Type]bool{t: true}
	var out []string
	queue := []level{{st, false}}
	for len(queue) > 0 {
		var next []level
		for _, l := range queue {
			for i := range l.s.NumFields() {
				f := l.s.Field(i)
				if f.Exported() && !seen[f.Name()] {
					name := f.Name()
					if l.promoted {
						name += " (promoted)"
					}
					seen[f.Name()] = true
					out = append(out, name)
				}
				if !f.Embedded() {
					continue
				}
				ft := types.Unalias(f.Type())
				if p, ok := ft.(*types.Pointer); ok {
					ft = types.Unalias(p.Elem())
				}
				if visited[ft] {
					continue
				}
				visited[ft] = true
				if es, ok := ft.Underlying().(*types.Struct); ok {
					next = append(next, level{es, true})
				}
			}
		}
		queue = next
	}
	return out
}
