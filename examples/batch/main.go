// Command batch runs a batch job at bedrockguard.Batch priority beside
// interactive traffic on the same model and quota. Both wait for the same
// token bucket, but interactive calls are admitted first, so the batch job
// soaks up the spare quota without slowing the users down.
//
// By default it talks to an in-process bedrocksim with a small quota;
// -endpoint (or BEDROCK_ENDPOINT) points it at a running "bedrockguard sim"
// instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

const model = "anthropic.claude-3-5-haiku-20241022-v1:0"

// A small quota with a short window, so the example runs in seconds.
var quota = bedrockguard.Quota{TokensPerWindow: 6_000, Window: 2 * time.Second}

func main() {
	endpoint := flag.String("endpoint", os.Getenv("BEDROCK_ENDPOINT"), "Bedrock Runtime endpoint (default: an in-process bedrocksim)")
	runFor := flag.Duration("for", 4*time.Second, "how long the traffic runs")
	flag.Parse()
	if *endpoint == "" {
		sim, err := bedrocksim.New(
			bedrocksim.WithWindow(quota.Window),
			bedrocksim.WithQuota(model, bedrocksim.Quota{TokensPerWindow: quota.TokensPerWindow}),
			bedrocksim.WithLatency(50*time.Millisecond, 0),
		)
		if err != nil {
			log.Fatal(err)
		}
		if *endpoint, err = sim.Start("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
		defer sim.Close()
	}
	cfg := bedrocksim.Config(*endpoint)
	if _, err := bedrockguard.Install(&cfg, bedrockguard.WithQuota(model, quota)); err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)

	var mu sync.Mutex
	latencies := map[bedrockguard.Priority][]time.Duration{}
	deadline := time.Now().Add(*runFor)
	var wg sync.WaitGroup
	worker := func(p bedrockguard.Priority, pause time.Duration) {
		ctx := bedrockguard.WithPriority(context.Background(), p)
		for time.Now().Before(deadline) {
			start := time.Now()
			if err := converse(ctx, client); err != nil {
				log.Printf("%v call failed: %v", p, err)
				return
			}
			mu.Lock()
			latencies[p] = append(latencies[p], time.Since(start))
			mu.Unlock()
			time.Sleep(pause) // a user reading the answer
		}
	}
	for range 8 { // the batch job: as fast as the quota allows
		wg.Go(func() { worker(bedrockguard.Batch, 0) })
	}
	for range 2 { // two interactive users
		wg.Go(func() { worker(bedrockguard.Interactive, 300*time.Millisecond) })
	}
	wg.Wait()

	for _, p := range []struct {
		name string
		pri  bedrockguard.Priority
	}{{"interactive", bedrockguard.Interactive}, {"batch", bedrockguard.Batch}} {
		l := latencies[p.pri]
		slices.Sort(l)
		if len(l) == 0 {
			continue
		}
		fmt.Printf("%-11s %3d calls, median latency %v\n", p.name, len(l), l[len(l)/2].Round(time.Millisecond))
	}
}

var prompt = strings.Repeat("Summarise this document line. ", 60)

func converse(ctx context.Context, client *bedrockruntime.Client) error {
	_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(model),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: prompt}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(200)},
	})
	return err
}
