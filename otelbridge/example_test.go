package otelbridge_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// ExampleNew wires the bridge into a guard. Without WithTracerProvider and
// WithMeterProvider it uses the global providers.
func ExampleNew() {
	tp := sdktrace.NewTracerProvider()                                                  // add your exporter (OTLP to Jaeger...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())) // or the Prometheus exporter
	bridge, err := otelbridge.New(otelbridge.WithTracerProvider(tp), otelbridge.WithMeterProvider(mp))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := bedrockguard.Install(&cfg, bridge.Option()); err != nil {
		fmt.Println(err)
		return
	}
	client := bedrockruntime.NewFromConfig(cfg) // every call is traced and measured
	fmt.Println(client != nil)
	// Output: true
}

// The package README's wiring: one bridge on the global providers, given to
// the guard as an option.
func Example_readme() {
	var cfg aws.Config
	bridge, err := otelbridge.New() // global providers; or otelbridge.WithTracerProvider(tp), otelbridge.WithMeterProvider(mp)
	if err != nil {
		log.Fatal(err)
	}
	guard, err := bedrockguard.Install(&cfg, bridge.Option()) // same as bedrockguard.WithObserver(bridge.Observer())
	_, _ = guard, err
}
