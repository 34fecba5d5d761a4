package redisstore_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process started by a test, on a free
// loopback port, with no persistence.
type redisServer struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  *syncBuffer
}

// redisBinary returns the redis-server to run ($REDIS_SERVER, or the one on
// PATH). Without one the test fails when CI=true and is skipped otherwise.
func redisBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		const msg = "redis-server not found on PATH (install it with pacing/redisstore/ci-setup.sh or apt-get install redis-server, or set REDIS_SERVER)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so this is a failure")
		}
		t.Skip(msg + "; skipping the Redis tests")
	}
	return p
}

// startRedis starts a redis-server on a free loopback port and stops it when
// the test ends.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if s := startRedisAt(t, addr); s != nil {
			return s
		}
	}
	t.Fatal("redis-server did not start on any of 5 free ports")
	return nil
}

// startRedisAt starts a redis-server on addr; it returns nil if the process
// exits before answering (the port was taken).
func startRedisAt(t testing.TB, addr string) *redisServer {
	t.Helper()
	bin := redisBinary(t)
	_, port, _ := net.SplitHostPort(addr)
	s := &redisServer{Addr: addr, done: make(chan struct{}), out: new(syncBuffer)}
	s.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)

	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.Ping(context.Background()).Err() == nil {
			return s
		}
		select {
		case <-s.done:
			t.Logf("redis-server on %s exited: %s", addr, s.out.String())
			return nil
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 10s: %s", addr, s.out.String())
		}
	}
}

// Stop kills the server and waits for it to exit.
func (s *redisServer) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// Client returns a client of the server with short timeouts, closed when the
// test ends.
func (s *redisServer) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:          s.Addr,
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   time.Second,
		WriteTimeout:  time.Second,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// Version returns the server's version, for the test log.
func (s *redisServer) Version(t testing.TB) string {
	info, err := s.Client(t).InfoMap(context.Background(), "server").Result()
	if err != nil {
		return "unknown: " + err.Error()
	}
	return info["Server"]["redis_version"]
}

var prefixSeq struct {
	sync.Mutex
	n int
}

// uniquePrefix returns a key prefix no other store of this test binary uses.
func uniquePrefix(t testing.TB) string {
	prefixSeq.Lock()
	defer prefixSeq.Unlock()
	prefixSeq.n++
	return "test" + strconv.Itoa(prefixSeq.n) + ":"
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
