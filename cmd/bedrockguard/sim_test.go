package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestSimCommandServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "-addr", "127.0.0.1:0", "-tpm", "1000", "-window", "1s"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var url string
	var out []string
	for lines.Scan() {
		out = append(out, lines.Text())
		if rest, ok := strings.CutPrefix(lines.Text(), "bedrocksim listening on "); ok {
			url = rest
			break
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("no URL in output %q", out)
	}
	resp, err := http.Get(url + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("stats status %d", resp.StatusCode)
	}
	cancel()
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
	for _, want := range []string{"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + url, "bedrocksim.Config(", "bedrocksim stopped"} {
		if !strings.Contains(strings.Join(out, "\n")+rest.String(), want) {
			t.Errorf("output lacks %q:\n%s%s", want, strings.Join(out, "\n"), rest.String())
		}
	}
}

func TestSimCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-tpm", "many"}, {"-window", "0s"}, {"-fault-503-rate", "2"}, {"extra"}, {"-rpm", "-1"}} {
		err := runSim(context.Background(), args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("runSim(%q) = %v, want errUsage", args, err)
		}
	}
}

// -short-requests-message reaches the simulator: the second call of a
// one-request quota gets the short request-rate message.
func TestSimCommandShortRequestsMessage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "-addr", "127.0.0.1:0", "-rpm", "1", "-window", "1h", "-short-requests-message"}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var url string
	for url == "" && lines.Scan() {
		url, _ = strings.CutPrefix(lines.Text(), "bedrocksim listening on ")
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatal("no URL in output")
	}
	var body string
	for range 2 {
		resp, err := http.Post(url+"/model/anthropic.claude-3-haiku-20240307-v1:0/converse", "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":5}}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	if want := `{"message":"Too many requests, please wait before trying again."}`; body != want {
		t.Errorf("second call answered %s, want %s", body, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d", code)
	}
}
