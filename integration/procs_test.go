package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// inCI reports whether the tests run in CI (CI=true), where a missing
// server binary is a failure rather than a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// findBinary returns the path of a server binary: the file named by the
// environment variable env if set, else the first of defaults that exists
// (a relative path, or a name looked up on PATH). When none is found the
// test skips with a message telling how to get it, or fails in CI.
func findBinary(t *testing.T, env, how string, defaults ...string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	for _, d := range defaults {
		if strings.ContainsRune(d, filepath.Separator) {
			if _, err := os.Stat(d); err == nil {
				abs, err := filepath.Abs(d)
				if err != nil {
					t.Fatal(err)
				}
				return abs
			}
			continue
		}
		if p, err := exec.LookPath(d); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (looked at $%s, %s); %s", defaults[len(defaults)-1], env, strings.Join(defaults, ", "), how)
	if inCI() {
		t.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	t.Skip(msg)
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// addr returns "127.0.0.1:port".
func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// lockedBuffer is a bytes.Buffer safe for a process's writers and a
// polling reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a server or demo started by a test.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan struct{}
	err    error // of Wait, once done is closed
}

// start runs bin with args in the background. At the end of the test the
// process gets SIGINT, then SIGKILL after 10s; if the test failed, its
// output is logged.
func start(t *testing.T, name, bin string, args []string, env []string) *process {
	t.Helper()
	p := &process{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Logf("started %s (pid %d): %s %s", name, p.cmd.Process.Pid, bin, strings.Join(args, " "))
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s stdout:\n%s", name, tail(p.stdout.String(), 4000))
			t.Logf("--- %s stderr:\n%s", name, tail(p.stderr.String(), 8000))
		}
	})
	return p
}

// stop interrupts the process and waits for it to exit.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited returns an error if the process has already exited.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early: %v\nstderr:\n%s", p.name, p.err, tail(p.stderr.String(), 4000))
	default:
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// poll calls check every interval until it returns nil or the deadline
// passes, and then fails the test with check's last error. procs that exit
// meanwhile end the wait early.
func poll(t *testing.T, what string, timeout time.Duration, check func() error, procs ...*process) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = check(); err == nil {
			return
		}
		for _, p := range procs {
			if perr := p.exited(); perr != nil {
				t.Fatalf("waiting for %s: %v", what, perr)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// httpClient is used for every API call of the tests.
var httpClient = &http.Client{Timeout: 20 * time.Second}

// httpGet returns the body of a 200 response to GET url.
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %s", url, resp.Status, tail(string(body), 500))
	}
	return body, nil
}

// buildDemo returns the bedrockguard binary to run: DEMO_BIN if set, else
// one built from the repository's cmd/bedrockguard module with its
// own go.mod (GOWORK=off), as a user would build it.
func buildDemo(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DEMO_BIN"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "bedrockguard")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "cmd", "bedrockguard")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, b)
	}
	t.Logf("built the demo in %v", time.Since(start).Round(time.Millisecond))
	return out
}
