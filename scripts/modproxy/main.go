// Command modproxy writes a file-system Go module proxy (for
// GOPROXY=file://DIR) that serves modules of this repository's working tree
// at a version that is not tagged yet, so that a program outside the
// repository can "go get" them as a user would once they are tagged.
//
//	go run ./scripts/modproxy -out DIR -version v0.1.0 . pacing/redisstore
//
// Each argument is a module directory relative to -C (default "."); its
// module path comes from its go.mod. The zip holds the files a commit of the
// working tree would hold (git ls-files: tracked and untracked files, minus
// ignored and deleted ones; every file when -C is not in a git work tree),
// and, as the go command does when it makes a module zip, leaves out nested
// modules (directories with their own go.mod), vendor directories and
// irregular files. For each module it writes @v/list, @v/VERSION.info (time:
// the HEAD commit's, else now), @v/VERSION.mod (the module's go.mod) and
// @v/VERSION.zip. Requests for any other module find nothing in DIR, so
// GOPROXY="file://DIR,$(go env GOPROXY)" falls through to the usual proxy.
//
// It fails when a module's go.mod requires a module of this repository (a
// module path under the first module's) at a pseudo-version, such as the
// placeholder v0.0.0-00010101000000-000000000000 that a replace directive
// makes work locally: Go ignores replace in a dependency, so a user could
// not resolve it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "proxy directory to write (created if missing)")
	version := flag.String("version", "", "version to publish every module at, e.g. v0.1.0")
	repo := flag.String("C", ".", "repository root the module directories are relative to")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: modproxy -out DIR -version vX.Y.Z [-C ROOT] MODULE_DIR...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || *version == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if !semver.IsValid(*version) || semver.Canonical(*version) != *version {
		fatalf("-version %q is not a canonical semantic version (vX.Y.Z)", *version)
	}
	root, err := filepath.Abs(*repo)
	if err != nil {
		fatalf("%v", err)
	}
	stamp := commitTime(root)
	repoPath := ""
	for _, dir := range flag.Args() {
		m, gomod, files, err := moduleFiles(root, filepath.Clean(dir))
		if err != nil {
			fatalf("%s: %v", dir, err)
		}
		if repoPath == "" {
			repoPath = m.Path
		}
		if err := checkRequires(gomod, repoPath); err != nil {
			fatalf("%s/go.mod: %v", dir, err)
		}
		m.Version = *version
		n, err := publish(*out, m, gomod, files, stamp)
		if err != nil {
			fatalf("%s: %v", dir, err)
		}
		fmt.Printf("modproxy: %s@%s from %s (%d files)\n", m.Path, m.Version, dir, n)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "modproxy: "+format+"\n", args...)
	os.Exit(1)
}

// checkRequires fails when gomod requires a module under repoPath at a
// pseudo-version.
func checkRequires(gomod []byte, repoPath string) error {
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return err
	}
	for _, r := range f.Require {
		p := r.Mod.Path
		if (p == repoPath || strings.HasPrefix(p, repoPath+"/")) && module.IsPseudoVersion(r.Mod.Version) {
			return fmt.Errorf("requires %s at %s, a version that will not exist once tagged: require a released (or the about-to-be-tagged) version; a replace directive may stay for development", p, r.Mod.Version)
		}
	}
	return nil
}

// file is a modzip.File on disk.
type file struct {
	rel string // slash-separated, relative to the module directory
	abs string
	fi  fs.FileInfo
}

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (fs.FileInfo, error)  { return f.fi, nil }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// moduleFiles returns the module in root/dir, its go.mod and the candidate
// files of its zip (modzip.Create drops those of nested modules and vendor
// directories).
func moduleFiles(root, dir string) (module.Version, []byte, []modzip.File, error) {
	modDir := filepath.Join(root, dir)
	data, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return module.Version{}, nil, nil, err
	}
	modPath := modfile.ModulePath(data)
	if modPath == "" {
		return module.Version{}, nil, nil, fmt.Errorf("no module line in go.mod")
	}
	var rels []string
	if gitFiles, err := listGit(modDir); err == nil {
		rels = gitFiles
	} else {
		err := filepath.WalkDir(modDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(modDir, p)
				rels = append(rels, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return module.Version{}, nil, nil, err
		}
	}
	var files []modzip.File
	for _, rel := range rels {
		abs := filepath.Join(modDir, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree, not yet in git
			}
			return module.Version{}, nil, nil, err
		}
		files = append(files, file{rel: rel, abs: abs, fi: fi})
	}
	return module.Version{Path: modPath}, data, files, nil
}

// listGit lists the files under dir that a commit of the working tree would
// hold, relative to dir.
func listGit(dir string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	cmd.Dir = dir
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var rels []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			rels = append(rels, p)
		}
	}
	slices.Sort(rels)
	return slices.Compact(rels), nil
}

func commitTime(root string) time.Time {
	cmd := exec.Command("git", "log", "-1", "--format=%cI")
	cmd.Dir = root
	cmd.Stderr = io.Discard
	if out, err := cmd.Output(); err == nil {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(out))); err == nil {
			return t.UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

// publish writes m's files into the proxy at out and returns how many files
// the zip holds.
func publish(out string, m module.Version, gomod []byte, files []modzip.File, stamp time.Time) (int, error) {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return 0, err
	}
	escVer, err := module.EscapeVersion(m.Version)
	if err != nil {
		return 0, err
	}
	vdir := filepath.Join(out, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return 0, err
	}

	var zbuf bytes.Buffer
	if err := modzip.Create(&zbuf, m, files); err != nil {
		return 0, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, stamp})
	if err != nil {
		return 0, err
	}
	list, _ := os.ReadFile(filepath.Join(vdir, "list"))
	versions := strings.Fields(string(list))
	if !slices.Contains(versions, m.Version) {
		versions = append(versions, m.Version)
	}
	semver.Sort(versions)

	for name, data := range map[string][]byte{
		escVer + ".zip":  zbuf.Bytes(),
		escVer + ".mod":  gomod,
		escVer + ".info": info,
		"list":           []byte(strings.Join(versions, "\n") + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return 0, err
		}
	}
	return zipCount(zbuf.Bytes(), m)
}

// zipCount checks the zip the way the go command will and counts its files.
func zipCount(z []byte, m module.Version) (int, error) {
	tmp, err := os.CreateTemp("", "modproxy-*.zip")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(z); err != nil {
		tmp.Close()
		return 0, err
	}
	tmp.Close()
	cf, err := modzip.CheckZip(m, tmp.Name())
	if err != nil {
		return 0, err
	}
	prefix := m.Path + "@" + m.Version + "/"
	for _, v := range cf.Valid {
		if v = strings.TrimPrefix(v, prefix); path.Base(v) == "go.mod" && v != "go.mod" {
			return 0, fmt.Errorf("zip holds a nested module's %s", v)
		}
	}
	return len(cf.Valid), nil
}
