package quotastest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// List the fake's quotas with a real client over HTTP.
func ExampleHandler() {
	srv := httptest.NewServer(quotastest.Handler(quotastest.Sample(), quotastest.WithPageSize(5)))
	defer srv.Close()
	client := servicequotas.New(servicequotas.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})

	out, err := client.ListServiceQuotas(context.Background(), &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("bedrock")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Quotas), "quotas on the first page, more:", out.NextToken != nil)
	fmt.Println(aws.ToString(out.Quotas[0].QuotaName))
	// Output:
	// 5 quotas on the first page, more: true
	// On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku
}

// inProcess is an HTTP client for the servicequotas client that serves
// each request with a handler in process: no sockets, so it also works in
// a testing/synctest bubble.
type inProcess struct{ h http.Handler }

func (c inProcess) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Serve the fake in process, as a test in a testing/synctest bubble must:
// here the first call is throttled.
func ExampleHandler_inProcess() {
	h := quotastest.Handler(quotastest.Sample(), quotastest.WithThrottleFirst(1))
	client := servicequotas.New(servicequotas.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:  inProcess{h},
		Retryer:     aws.NopRetryer{}, // let the caller see the throttle
	})

	in := &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("bedrock")}
	_, err := client.ListServiceQuotas(context.Background(), in)
	var throttled *types.TooManyRequestsException
	fmt.Println("first call throttled:", errors.As(err, &throttled))
	out, err := client.ListServiceQuotas(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("second call:", len(out.Quotas), "quotas")
	// Output:
	// first call throttled: true
	// second call: 22 quotas
}
