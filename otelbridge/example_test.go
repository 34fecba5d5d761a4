package otelbridge_test

import (
	"context"
	"fmt"

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
