// Command prometheus serves the guard's metrics for Prometheus to scrape,
// through the OpenTelemetry Prometheus exporter, then prints the throttle
// counters it serves. With -hold it keeps serving afterwards:
//
//	go run ./examples/prometheus -addr :9464 -hold 5m
//	curl -s localhost:9464/metrics | grep aws_bedrock_throttles_total
//
// The metric names and labels are listed in otelbridge/README.md.
//
// By default it talks to an in-process bedrocksim with a small quota, so
// some calls are throttled; -endpoint (or BEDROCK_ENDPOINT) points it at a
// running "bedrockguard sim" instead.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

const model = "anthropic.claude-3-5-haiku-20241022-v1:0"

func main() {
	endpoint := flag.String("endpoint", os.Getenv("BEDROCK_ENDPOINT"), "Bedrock Runtime endpoint (default: an in-process bedrocksim)")
	addr := flag.String("addr", "127.0.0.1:0", "where /metrics listens (port 0 picks one)")
	hold := flag.Duration("hold", 0, "keep serving /metrics this long after the calls")
	flag.Parse()
	ctx := context.Background()
	if *endpoint == "" {
		sim, err := bedrocksim.New(
			bedrocksim.WithWindow(2*time.Second),
			bedrocksim.WithQuota(model, bedrocksim.Quota{TokensPerWindow: 1_000}),
		)
		if err != nil {
			log.Fatal(err)
		}
		if *endpoint, err = sim.Start("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
		defer sim.Close()
	}

	// A meter provider whose reader is the Prometheus exporter, served on
	// its own registry.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(ctx)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	go http.Serve(ln, nil)
	url := "http://" + ln.Addr().String() + "/metrics"
	fmt.Println("serving", url)

	bridge, err := otelbridge.New(otelbridge.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	cfg := bedrocksim.Config(*endpoint)
	// No limit given: the guard learns it from the throttles. The window
	// is told only because the simulator's is 2 s instead of a minute.
	_, err = bedrockguard.Install(&cfg, bridge.Option(),
		bedrockguard.WithQuota(model, bedrockguard.Quota{Window: 2 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	for range 4 {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
			ModelId: aws.String(model),
			Messages: []types.Message{{
				Role:    types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: strings.Repeat("word ", 400)}},
			}},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(100)},
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	// What Prometheus would scrape.
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "aws_bedrock_throttles_total{") {
			fmt.Println(lines.Text())
		}
	}
	if *hold > 0 {
		fmt.Printf("serving %s for %v\n", url, *hold)
		time.Sleep(*hold)
	}
}
