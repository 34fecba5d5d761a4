package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fleetRow is the part of `bedrockguard loadtest -procs N -json -` that the
// fleet tests check.
type fleetRow struct {
	Procs []struct {
		Index       int           `json:"index"`
		Class       string        `json:"class"`
		Calls       int           `json:"calls"`
		OK          int           `json:"ok"`
		Failed      int           `json:"failed"`
		P50         time.Duration `json:"p50"`
		P99         time.Duration `json:"p99"`
		StoreErrors int64         `json:"storeErrors"`
		Outstanding int64         `json:"outstanding"`
	} `json:"procs"`
	Calls           int     `json:"calls"`
	Failed          int     `json:"failed"`
	Throttles       int64   `json:"throttles"`
	Fairness        float64 `json:"fairness"`
	CommandsPerCall float64 `json:"redisCommandsPerCall"`
	OutagePct       float64 `json:"outageAdmittedPct"`
	Rejoin          int64   `json:"rejoin"`
}

// runFleet builds the CLI and runs a multi-process loadtest: real OS
// processes sharing a real redis-server that the loadtest starts (and, with
// -kill-store-at, kills and restarts empty).
func runFleet(t *testing.T, args ...string) fleetRow {
	t.Helper()
	findBinary(t, "REDIS_SERVER", "install it with pacing/redisstore/ci-setup.sh or apt-get install redis-server", "redis-server")
	bin := filepath.Join(t.TempDir(), "bedrockguard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "cmd", "bedrockguard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"loadtest", "-q", "-json", "-"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("loadtest %v: %v\n%s", args, err, stderr.String())
	}
	out := stdout.String()
	t.Log(out)
	var row fleetRow
	if err := json.Unmarshal([]byte(out[strings.Index(out, "\n{")+1:]), &row); err != nil {
		t.Fatalf("loadtest output: %v", err)
	}
	if row.Calls == 0 || row.Failed != 0 {
		t.Fatalf("%d calls, %d failed: want calls and none failed", row.Calls, row.Failed)
	}
	for _, p := range row.Procs {
		if p.Outstanding != 0 {
			t.Fatalf("process %d: %d reservations neither settled nor released", p.Index, p.Outstanding)
		}
	}
	return row
}

// TestFleetFIFO runs 3 processes (large, small, large prompts) on one
// quota: a large-prompt worker must complete about as many calls as a
// small-prompt one (fleet-wide FIFO: small prompts elsewhere do not take
// every refill), and no call fails.
func TestFleetFIFO(t *testing.T) {
	row := runFleet(t, "-procs", "3", "-workers", "4", "-window", "3s", "-duration", "15s")
	if row.Fairness < 0.7 {
		t.Errorf("a large-prompt worker completed %.2f x what a small-prompt worker did, want >= 0.7", row.Fairness)
	}
}

// TestFleetRedisRestart kills Redis 8 s into a 3-process run and restarts
// it empty 5 s later: no call fails, every ticket ends (runFleet), and every
// process is back on Redis within one window of the restart. (While Redis
// is down each process has an equal share of the tokens, so fairness by
// calls is not expected then.)
func TestFleetRedisRestart(t *testing.T) {
	row := runFleet(t, "-procs", "3", "-workers", "4", "-window", "3s", "-duration", "24s",
		"-kill-store-at", "8s", "-store-down", "5s")
	var storeErrors int64
	for _, p := range row.Procs {
		storeErrors += p.StoreErrors
	}
	if storeErrors == 0 {
		t.Error("no store errors: Redis was not down")
	}
	if row.Rejoin <= 0 || time.Duration(row.Rejoin) > 3*time.Second {
		t.Errorf("processes back on Redis %v after the restart, want within one window (3s)", time.Duration(row.Rejoin))
	}
}

// TestFleetInteractiveOvertakesBatch runs 3 processes: two keep the key's
// queue full of Batch calls, the third sends Interactive calls, which queue
// ahead of the Batch calls of the other processes.
func TestFleetInteractiveOvertakesBatch(t *testing.T) {
	row := runFleet(t, "-procs", "3", "-workers", "4", "-window", "3s", "-duration", "15s", "-interactive-last")
	batch, inter := row.Procs[0].P50, row.Procs[2].P50
	if inter*2 > batch {
		t.Errorf("Interactive p50 %v, Batch p50 %v: want Interactive served well ahead", inter, batch)
	}
}
