package quotas_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// Discover the Bedrock quotas of a Region and install a guard with them.
// In an application, both clients come from one
// config.LoadDefaultConfig; here a fake Service Quotas API stands in.
func ExampleDiscover() {
	srv := httptest.NewServer(quotastest.Handler(quotastest.Sample()))
	defer srv.Close()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}
	sq := servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) { o.BaseEndpoint = aws.String(srv.URL) })

	catalog, err := quotas.Discover(context.Background(), sq)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := bedrockguard.Install(&cfg, catalog.Options()...); err != nil {
		fmt.Println(err)
		return
	}

	q, _ := catalog.Quota("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
	fmt.Printf("us. Claude Sonnet 4.5: %d tokens/min, %d tokens/day\n", q.TokensPerWindow, q.TokensPerDay)
	q, _ = catalog.Quota("anthropic.claude-3-5-haiku-20241022-v1:0")
	fmt.Printf("Claude 3.5 Haiku on demand: %d tokens/min, %d requests/min\n", q.TokensPerWindow, q.RequestsPerWindow)
	unknown := 0
	for _, e := range catalog.Entries {
		if e.ModelID == "" {
			unknown++ // add it with quotas.WithModel
		}
	}
	fmt.Printf("%d IDs with a quota, %d names not understood, %d models not known\n",
		len(catalog.Options()), len(catalog.Unparsed), unknown)
	// Output:
	// us. Claude Sonnet 4.5: 400000 tokens/min, 288000000 tokens/day
	// Claude 3.5 Haiku on demand: 400000 tokens/min, 200 requests/min
	// 15 IDs with a quota, 3 names not understood, 1 models not known
}

// List every quota that applies to one model, on any route, the way the
// CLI's "bedrockguard quotas -model ID" does.
func ExampleCatalog_For() {
	srv := httptest.NewServer(quotastest.Handler(quotastest.Sample()))
	defer srv.Close()
	sq := servicequotas.New(servicequotas.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	catalog, err := quotas.Discover(context.Background(), sq)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range catalog.For("anthropic.claude-sonnet-4-5-20250929-v1:0") {
		fmt.Println(e.Scope, e.Kind, e.Context, e.Value, e.IDs)
	}
	// Output:
	// any tokens-per-day  2.88e+08 [anthropic.claude-sonnet-4-5-20250929-v1:0 us.anthropic.claude-sonnet-4-5-20250929-v1:0 global.anthropic.claude-sonnet-4-5-20250929-v1:0]
	// cross-region tokens-per-day  5.76e+08 [us.anthropic.claude-sonnet-4-5-20250929-v1:0]
	// cross-region tokens-per-minute  400000 [us.anthropic.claude-sonnet-4-5-20250929-v1:0]
	// cross-region tokens-per-minute 1M 200000 [us.anthropic.claude-sonnet-4-5-20250929-v1:0]
	// global-cross-region tokens-per-minute  500000 [global.anthropic.claude-sonnet-4-5-20250929-v1:0]
}
