// Command readmecheck checks that every ```go block of the repository's
// README files is code that compiles: each block must appear, token for
// token, in a Go file that CI compiles and that is there to be read as an
// example.
//
//	go run ./scripts/readmecheck [-C ROOT] [README.md ...]
//
// With no arguments it checks every README.md under ROOT. The files searched
// are the .go files under a directory named examples, the test files whose
// name contains "example" (example_test.go, ...), and
// scripts/installproof/main.go, all under ROOT; the go vet and go test runs
// of .ci/run compile them all.
//
// Blocks are compared as Go tokens: layout and comments do not matter,
// everything else does. An elision "..." in a block (where Go cannot have
// one: at the start of a statement or a block, as in "if err != nil { ... }",
// or as a whole argument, as in "f(a, ...)") stands for any balanced run of
// tokens. It prints each block it cannot find, with the file where most of
// it matched and the first token that differs, and exits 1.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// tok is one Go token; wild marks an elision.
type tok struct {
	t    token.Token
	lit  string
	line int
	wild bool
}

func (k tok) String() string {
	switch {
	case k.wild:
		return "..."
	case k.t == token.SEMICOLON:
		return "end of statement"
	case k.lit != "":
		return k.lit
	}
	return k.t.String()
}

func (k tok) same(o tok) bool {
	if k.t != o.t {
		return false
	}
	switch k.t {
	case token.IDENT, token.INT, token.FLOAT, token.IMAG, token.CHAR, token.STRING:
		return k.lit == o.lit
	}
	return true
}

type block struct {
	file string
	line int
	text string
	toks []tok
}

type source struct {
	file string
	toks []tok
}

func main() {
	root := flag.String("C", ".", "repository root")
	flag.Parse()
	readmes := flag.Args()
	var sources []source
	err := filepath.WalkDir(*root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(*root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != *root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if flag.NArg() == 0 && d.Name() == "README.md" {
			readmes = append(readmes, p)
		}
		if isExample(rel) {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sources = append(sources, source{rel, tokens(data, false)})
		}
		return nil
	})
	if err != nil {
		fatalf("%v", err)
	}
	var blocks []block
	for _, r := range readmes {
		bs, err := goBlocks(r)
		if err != nil {
			fatalf("%v", err)
		}
		blocks = append(blocks, bs...)
	}

	missing := 0
	for _, b := range blocks {
		if len(b.toks) == 0 {
			continue
		}
		found := ""
		bestFile, best := "", -1
		for _, s := range sources {
			ok, progress := find(b.toks, s.toks)
			if ok {
				found = s.file
				break
			}
			if progress > best {
				bestFile, best = s.file, progress
			}
		}
		if found != "" {
			fmt.Printf("ok      %s:%d is in %s\n", b.file, b.line, found)
			continue
		}
		missing++
		fmt.Printf("MISSING %s:%d: this ```go block is in no compiled example:\n", b.file, b.line)
		for _, l := range strings.Split(strings.TrimRight(b.text, "\n"), "\n") {
			fmt.Printf("\t| %s\n", l)
		}
		if best >= 0 && best < len(b.toks) {
			fmt.Printf("\tclosest: %s, which matches up to %q on the block's line %d\n",
				bestFile, b.toks[best].String(), b.line+1+b.toks[best].line)
		}
	}
	fmt.Printf("readmecheck: %d of %d ```go blocks found in %d example files\n", len(blocks)-missing, len(blocks), len(sources))
	if missing > 0 {
		fmt.Println("Put each missing block, as it is, in an example that compiles (examples/..., an example_test.go, or scripts/installproof), or change the block to match one.")
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "readmecheck: "+format+"\n", args...)
	os.Exit(1)
}

// isExample reports whether the slash-separated path rel, relative to the
// repository root, is a Go file searched for README blocks.
func isExample(rel string) bool {
	if !strings.HasSuffix(rel, ".go") {
		return false
	}
	base := filepath.Base(rel)
	return slices.Contains(strings.Split(rel, "/")[:strings.Count(rel, "/")], "examples") ||
		(strings.HasSuffix(base, "_test.go") && strings.Contains(base, "example")) ||
		rel == "scripts/installproof/main.go"
}

// goBlocks returns the ```go blocks of a Markdown file.
func goBlocks(path string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []block
	var cur *block
	fence := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur == nil {
			if lang, ok := strings.CutPrefix(trimmed, "```"); ok && strings.Fields(lang + " x")[0] == "go" {
				cur = &block{file: path, line: n}
				fence = line[:strings.Index(line, "```")]
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") && strings.Trim(trimmed, "`") == "" {
			cur.toks = tokens([]byte(cur.text), true)
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.text += strings.TrimPrefix(line, fence) + "\n"
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unterminated ```go block", path, cur.line)
	}
	return blocks, sc.Err()
}

// tokens scans Go source (a fragment is fine) into tokens without comments.
// With elide, an ellipsis where Go cannot have one becomes a wildcard. Token
// lines are relative to the start of src (0 for its first line).
func tokens(src []byte, elide bool) []tok {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0) // errors are fine: README text is a fragment
	var out []tok
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		out = append(out, tok{t: t, lit: lit, line: fset.Position(pos).Line - 1})
	}
	if elide {
		for i := range out {
			if out[i].t != token.ELLIPSIS {
				continue
			}
			prev, next := token.SEMICOLON, token.SEMICOLON
			if i > 0 {
				prev = out[i-1].t
			}
			if i+1 < len(out) {
				next = out[i+1].t
			}
			switch {
			case prev == token.LBRACE || prev == token.SEMICOLON:
				out[i].wild = true // "{ ...": a statement list
			case (prev == token.LPAREN || prev == token.COMMA) &&
				(next == token.RPAREN || next == token.RBRACE || next == token.COMMA || next == token.SEMICOLON):
				out[i].wild = true // "f(a, ...)": an argument list
			}
		}
	}
	return out
}

// find reports whether pattern occurs in text and, if not, how many of its
// tokens the best partial match covered.
func find(pattern, text []tok) (bool, int) {
	best := 0
	for start := range text {
		ok, progress := match(pattern, text[start:])
		if ok {
			return true, len(pattern)
		}
		best = max(best, progress)
	}
	return false, best
}

// match reports whether pattern matches a prefix of text, and how far into
// pattern it got.
func match(pattern, text []tok) (bool, int) {
	for i, p := range pattern {
		if p.wild {
			best := i
			// Try every balanced run of tokens, shortest first.
			depth := 0
			for j := 0; j <= len(text); j++ {
				ok, progress := match(pattern[i+1:], text[j:])
				if ok {
					return true, len(pattern)
				}
				best = max(best, i+1+progress)
				if j == len(text) {
					break
				}
				switch text[j].t {
				case token.LPAREN, token.LBRACE, token.LBRACK:
					depth++
				case token.RPAREN, token.RBRACE, token.RBRACK:
					depth--
				}
				if depth < 0 {
					break
				}
			}
			return false, best
		}
		if len(text) == 0 || !p.same(text[0]) {
			return false, i
		}
		text = text[1:]
	}
	return true, len(pattern)
}
