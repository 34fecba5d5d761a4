// Command otlp-jaeger sends the guard's spans to Jaeger (or any OTLP
// collector) over OTLP/HTTP. Start Jaeger and point the standard variable
// at it:
//
//	docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/jaeger:latest
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 go run ./examples/otlp-jaeger
//
// then open http://localhost:16686 and look for the service
// "bedrockguard-example": each call is a "chat <model>" span, throttles are
// "aws.bedrock.throttle" events on it, retries are "attempt" children.
// Without OTEL_EXPORTER_OTLP_ENDPOINT the spans are made but not exported.
//
// By default it talks to an in-process bedrocksim whose first answer is a
// ModelNotReadyException, which the guard retries (an "attempt" child span);
// -endpoint (or BEDROCK_ENDPOINT) points it at a running "bedrockguard sim"
// instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

const model = "anthropic.claude-3-5-haiku-20241022-v1:0"

func main() {
	endpoint := flag.String("endpoint", os.Getenv("BEDROCK_ENDPOINT"), "Bedrock Runtime endpoint (default: an in-process bedrocksim)")
	flag.Parse()
	ctx := context.Background()
	if *endpoint == "" {
		sim, err := bedrocksim.New(
			bedrocksim.WithFaults(bedrocksim.Faults{ModelNotReady: bedrocksim.Trigger{Next: 1}}),
		)
		if err != nil {
			log.Fatal(err)
		}
		if *endpoint, err = sim.Start("127.0.0.1:0"); err != nil {
			log.Fatal(err)
		}
		defer sim.Close()
	}

	// The usual OpenTelemetry setup: a global tracer provider exporting
	// over OTLP/HTTP; the exporter reads OTEL_EXPORTER_OTLP_* itself.
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", "bedrockguard-example")))}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			log.Fatal(err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	} else {
		fmt.Println("OTEL_EXPORTER_OTLP_ENDPOINT is not set: spans are not exported")
	}
	tp := sdktrace.NewTracerProvider(opts...)
	defer tp.Shutdown(ctx) // flushes the last spans
	otel.SetTracerProvider(tp)

	bridge, err := otelbridge.New() // uses the global providers
	if err != nil {
		log.Fatal(err)
	}
	cfg := bedrocksim.Config(*endpoint)
	if _, err := bedrockguard.Install(&cfg, bridge.Option()); err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)

	for range 3 {
		_, err := client.Converse(ctx, &bedrockruntime.ConverseInput{
			ModelId: aws.String(model),
			Messages: []types.Message{{
				Role:    types.ConversationRoleUser,
				Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hello"}},
			}},
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(50)},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("3 calls traced; the first was retried after ModelNotReadyException")
}
