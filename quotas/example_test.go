package quotas_test

import (
	"context"
	"fmt"

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
	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{})
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
	fmt.Printf("us. Claude Sonnet 4.5: %d tokens/min, %d tokens/day\n", q.TokensPerMinute, q.TokensPerDay)
	q, _ = catalog.Quota("anthropic.claude-3-5-haiku-20241022-v1:0")
	fmt.Printf("Claude 3.5 Haiku on demand: %d tokens/min, %d requests/min\n", q.TokensPerMinute, q.RequestsPerMinute)
	fmt.Printf("%d IDs with a quota, %d names not understood, %d models not known\n",
		len(catalog.IDs()), len(catalog.Unparsed), len(catalog.Unmapped()))
	// Output:
	// us. Claude Sonnet 4.5: 400000 tokens/min, 288000000 tokens/day
	// Claude 3.5 Haiku on demand: 400000 tokens/min, 200 requests/min
	// 15 IDs with a quota, 3 names not understood, 1 models not known
}
