package otelbridge_test

import (
	"errors"
	"fmt"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/otelbridge"
)

// ExampleWithPrices counts what the calls cost, by model and (with
// WithTenantAttribute) by tenant. The bridge ships no prices: take them, in
// USD per 1,000 tokens, from the Amazon Bedrock pricing page for your Region
// (the numbers below are placeholders). A bad price fails New.
func ExampleWithPrices() {
	bridge, err := otelbridge.New(
		otelbridge.WithPrices(map[string]otelbridge.Price{
			"anthropic.claude-3-5-haiku-20241022-v1:0": {InputPer1K: 0.001, OutputPer1K: 0.005, CacheReadPer1K: 0.0001, CacheWritePer1K: 0.00125},
		}),
		otelbridge.WithTenantAttribute(100), // the first 100 tenants by name, the others as "other"
	)
	fmt.Println(bridge != nil, err)

	_, err = otelbridge.New(otelbridge.WithPrices(map[string]otelbridge.Price{"amazon.nova-lite-v1:0": {InputPer1K: -1}}))
	var oe *bedrockguard.OptionError
	fmt.Println(errors.As(err, &oe), oe.Option)
	// Output:
	// true <nil>
	// true otelbridge.WithPrices("amazon.nova-lite-v1:0")
}
