package quotas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// fake serves the quotastest handler in process and records every request.
//
// The tests never reach the fake over loopback TCP. They turn the SDK's
// retries off, so that only Discover's backoff is exercised, and over a
// socket that exposes a race between net/http and the SDK: the response
// can arrive before the transport's write loop has finished with the
// request body, the SDK then closes the body, the write loop's last read of
// it fails, and the transport closes the connection under the response
// being read ("deserialization failed ... use of closed network
// connection", aws/aws-sdk-go-v2#2737; the SDK's standard retryer retries
// it, a NopRetryer does not). That made TestCache fail about once in 300
// runs. In process there is no connection, nothing depends on scheduling,
// and the tests run in testing/synctest bubbles on a fake clock.
type fake struct {
	h http.Handler

	mu    sync.Mutex
	calls []call
}

// call is one request the fake answered.
type call struct {
	op, serviceCode, nextToken string
	maxResults                 int
	signed                     bool
	errType                    string    // the error code answered, "" for success
	at                         time.Time // time.Now() when it came, on the bubble's clock in a bubble
}

func newFake(applied []quotastest.Quota, opts ...quotastest.Option) *fake {
	return &fake{h: quotastest.Handler(applied, opts...)}
}

// Do implements the servicequotas client's HTTPClient.
func (f *fake) Do(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var in struct {
		ServiceCode string
		NextToken   string
		MaxResults  int
	}
	_ = json.Unmarshal(body, &in)
	c := call{
		op:          strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "ServiceQuotasV20190624."),
		serviceCode: in.ServiceCode, nextToken: in.NextToken, maxResults: in.MaxResults,
		signed: strings.Contains(r.Header.Get("Authorization"), "/servicequotas/aws4_request"),
		at:     time.Now(),
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	c.errType = rec.Header().Get("X-Amzn-ErrorType")
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	return rec.Result(), nil
}

func (f *fake) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// client returns a real servicequotas client served by the fake, signing
// with static credentials, with the SDK's own retries off.
func (f *fake) client(region string) *servicequotas.Client {
	return servicequotas.New(servicequotas.Options{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:  f,
		Retryer:     aws.NopRetryer{},
	})
}

const (
	haiku35  = "anthropic.claude-3-5-haiku-20241022-v1:0"
	sonnet35 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	sonnet37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
	sonnet4  = "anthropic.claude-sonnet-4-20250514-v1:0"
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
)

func TestDiscoverCatalog(t *testing.T) {
	f := newFake(quotastest.Sample(), quotastest.WithPageSize(5))
	cat, err := quotas.Discover(t.Context(), f.client("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}

	// The wire: every page, each signed, for service code "bedrock".
	calls := f.Calls()
	if n := len(quotastest.Sample()); len(calls) != (n+4)/5 {
		t.Errorf("%d calls, want %d", len(calls), (n+4)/5)
	}
	for i, c := range calls {
		if c.op != "ListServiceQuotas" || c.serviceCode != "bedrock" || !c.signed || c.maxResults != 100 || c.errType != "" {
			t.Errorf("call %d: %+v", i, c)
		}
	}
	if calls[0].nextToken != "" || calls[1].nextToken != "page-5" {
		t.Errorf("first page, then page-5: %+v", calls[:2])
	}

	if cat.Region != "us-east-1" {
		t.Errorf("region %q, want it read from the client", cat.Region)
	}
	// Every quota is accounted for: parsed (mapped or not) or unparsed.
	if got := len(cat.Entries) + len(cat.Unparsed); got != len(quotastest.Sample()) {
		t.Errorf("%d entries + %d unparsed, want %d", len(cat.Entries), len(cat.Unparsed), len(quotastest.Sample()))
	}
	var unparsed []string
	for _, u := range cat.Unparsed {
		unparsed = append(unparsed, u.QuotaName)
		if u.Reason == "" || u.QuotaCode == "" {
			t.Errorf("unparsed without reason or code: %+v", u)
		}
	}
	if want := []string{"Cross-Model Max Tokens Per Day", "Batch inference job size (in GB)", "Records per batch inference job for Anthropic Claude 3 Haiku"}; !slices.Equal(unparsed, want) {
		t.Errorf("unparsed %q, want %q", unparsed, want)
	}
	if last := cat.Entries[len(cat.Entries)-1]; last.Model != "Acme Frontier X1" || last.ModelID != "" || last.IDs != nil {
		t.Errorf("last entry %+v, want the unmapped Acme Frontier X1", last)
	}
	for _, e := range cat.Entries[:len(cat.Entries)-1] {
		if e.ModelID == "" {
			t.Errorf("unmapped entry before a mapped one: %+v", e)
		}
	}

	tests := []struct {
		id   string
		want bedrockguard.Quota
		ok   bool
	}{
		{haiku35, bedrockguard.Quota{TokensPerWindow: 400000, RequestsPerWindow: 200}, true},
		{"us." + haiku35, bedrockguard.Quota{}, false},
		{sonnet35, bedrockguard.Quota{TokensPerWindow: 400000}, true},
		{"us." + sonnet35, bedrockguard.Quota{TokensPerWindow: 800000}, true},
		{"eu." + sonnet35, bedrockguard.Quota{}, false}, // us-east-1 calls only us. profiles
		{sonnet37, bedrockguard.Quota{}, false},         // 3.7 and later: no on-demand quota
		{"us." + sonnet37, bedrockguard.Quota{TokensPerWindow: 1000000}, true},
		{"us." + sonnet4, bedrockguard.Quota{TokensPerWindow: 200000}, true},
		{"global." + sonnet4, bedrockguard.Quota{TokensPerWindow: 300000}, true},
		// Sonnet 4.5: the 1M-context quota is left out; tokens per day is
		// the smaller of the cross-region and the any-route quota.
		{"us." + sonnet45, bedrockguard.Quota{TokensPerWindow: 400000, TokensPerDay: 288000000}, true},
		{"global." + sonnet45, bedrockguard.Quota{TokensPerWindow: 500000, TokensPerDay: 288000000}, true},
		{sonnet45, bedrockguard.Quota{TokensPerDay: 288000000}, true},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global." + sonnet45, bedrockguard.Quota{TokensPerWindow: 500000, TokensPerDay: 288000000}, true},
		{"amazon.nova-lite-v1:0", bedrockguard.Quota{TokensPerWindow: 2000000}, true},
		{"us.amazon.nova-lite-v1:0", bedrockguard.Quota{TokensPerWindow: 4000000}, true},
		{"meta.llama3-1-8b-instruct-v1:0", bedrockguard.Quota{TokensPerWindow: 300000}, true},
		{"mistral.mistral-large-2407-v1:0", bedrockguard.Quota{RequestsPerWindow: 50}, true},
		{"cohere.command-r-plus-v1:0", bedrockguard.Quota{TokensPerWindow: 300000}, true},
		{"amazon.titan-embed-text-v2:0", bedrockguard.Quota{TokensPerWindow: 300000}, true},
		{"anthropic.claude-3-haiku-20240307-v1:0", bedrockguard.Quota{}, false},
	}
	for _, tt := range tests {
		got, ok := cat.Quota(tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Quota(%s) = %+v, %v; want %+v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}

	var sonnet45Codes []string
	for _, e := range cat.For(sonnet45) {
		sonnet45Codes = append(sonnet45Codes, e.QuotaCode)
		if e.Context == "1M" && (e.Value != 200000 || !slices.Contains(e.IDs, "us."+sonnet45)) {
			t.Errorf("1M context entry %+v", e)
		}
	}
	if len(sonnet45Codes) != 5 {
		t.Errorf("For(sonnet 4.5) = %v, want its 5 quotas", sonnet45Codes)
	}
	if es := cat.For("arn:aws:bedrock:us-east-1:123456789012:inference-profile/global." + sonnet4); len(es) != 1 || es[0].QuotaCode != "L-97E41E39" {
		t.Errorf("For(global. Sonnet 4 ARN) = %+v", es)
	}

	// Options install: every ID with a quota becomes a WithQuota.
	if n := len(cat.Options()); n != 15 {
		t.Errorf("%d options, want one per ID with a quota, 15", n)
	}
	if _, err := bedrockguard.New(cat.Options()...); err != nil {
		t.Fatalf("bedrockguard.New(catalog.Options()...): %v", err)
	}
}

// TestDiscoverRetriesThrottle runs in a bubble: the backoff is measured
// on the fake clock, exactly, and takes no real time.
func TestDiscoverRetriesThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(quotastest.Sample(), quotastest.WithPageSize(5), quotastest.WithThrottleFirst(1))
		start := time.Now()
		cat, err := quotas.Discover(t.Context(), f.client("us-east-1"))
		if err != nil {
			t.Fatal(err)
		}
		// A throttled first call, retried after one backoff, then every
		// page without waiting.
		calls := f.Calls()
		if n := len(quotastest.Sample()); len(calls) != 1+(n+4)/5 {
			t.Fatalf("%d calls, want %d", len(calls), 1+(n+4)/5)
		}
		if calls[0].errType != "TooManyRequestsException" || calls[1].errType != "" || calls[1].nextToken != "" || calls[2].nextToken != "page-5" {
			t.Errorf("throttle, then the first page again, then page-5: %+v", calls[:3])
		}
		if d := calls[1].at.Sub(calls[0].at); d < 500*time.Millisecond || d > time.Second {
			t.Errorf("backoff %v, want in [0.5s, 1s]", d)
		}
		if !calls[len(calls)-1].at.Equal(calls[1].at) || !cat.FetchedAt.Equal(calls[1].at) || time.Since(start) != calls[1].at.Sub(start) {
			t.Errorf("waited after the throttle's backoff: calls %+v, fetched at %v", calls, cat.FetchedAt)
		}
	})
}

func TestDiscoverGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Throttled past the retries: the throttle is returned, after 6
		// growing delays (1 s, 2 s … capped at 20 s, each with jitter).
		f := newFake(quotastest.Sample(), quotastest.WithThrottleFirst(100))
		start := time.Now()
		_, err := quotas.Discover(t.Context(), f.client("us-east-1"))
		var tm *types.TooManyRequestsException
		if !errors.As(err, &tm) || !strings.Contains(err.Error(), "quotas: listing the \"bedrock\" service quotas (page 1)") {
			t.Errorf("err = %v, want a TooManyRequestsException on page 1", err)
		}
		calls := f.Calls()
		if len(calls) != 7 {
			t.Fatalf("%d calls, want 7", len(calls))
		}
		for i := range 6 {
			hi := min(time.Second<<i, 20*time.Second)
			if d := calls[i+1].at.Sub(calls[i].at); d < hi/2 || d > hi {
				t.Errorf("delay %d = %v, want in [%v, %v]", i, d, hi/2, hi)
			}
		}
		if d := time.Since(start); d != calls[6].at.Sub(start) {
			t.Errorf("returned %v after the last call", d-calls[6].at.Sub(start))
		}
	})
}

func TestDiscoverContextEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The deadline ends the backoff at once, with both errors.
		f := newFake(quotastest.Sample(), quotastest.WithThrottleFirst(100))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := quotas.Discover(ctx, f.client("us-east-1"))
		var tm *types.TooManyRequestsException
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &tm) {
			t.Errorf("err = %v, want the throttle and the deadline", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("returned after %v, want at the 5s deadline", d)
		}

		// A cancelled context makes no call wait.
		cctx, cancel := context.WithCancel(t.Context())
		cancel()
		start = time.Now()
		if _, err := quotas.Discover(cctx, newFake(quotastest.Sample(), quotastest.WithThrottleFirst(100)).client("us-east-1")); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("cancelled: returned after %v", d)
		}
	})
}

func TestDiscoverDoesNotRetryOtherErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(quotastest.Sample())
		anon := servicequotas.New(servicequotas.Options{Region: "us-east-1", HTTPClient: f, Retryer: aws.NopRetryer{}, Credentials: aws.AnonymousCredentials{}})
		start := time.Now()
		_, err := quotas.Discover(t.Context(), anon)
		var tm *types.TooManyRequestsException
		if err == nil || errors.As(err, &tm) || len(f.Calls()) != 1 || time.Since(start) != 0 {
			t.Errorf("unsigned: err %v, %d calls, after %v; want one call answered at once", err, len(f.Calls()), time.Since(start))
		}
	})
}

func TestDiscoverRegionDecidesProfiles(t *testing.T) {
	f := newFake(quotastest.Sample())
	cat, err := quotas.Discover(t.Context(), f.client("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Quota("eu." + sonnet37); !ok {
		t.Error("eu-west-1: no quota on the eu. profile")
	}
	if _, ok := cat.Quota("us." + sonnet37); ok {
		t.Error("eu-west-1: quota on the us. profile")
	}
	// An explicit region wins over the client's.
	cat, err = quotas.Discover(t.Context(), f.client("eu-west-1"), quotas.WithRegion("ap-southeast-2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"apac." + sonnet37, "au." + sonnet37} {
		if _, ok := cat.Quota(id); !ok {
			t.Errorf("ap-southeast-2: no quota on %s", id)
		}
	}
	if cat.Region != "ap-southeast-2" {
		t.Errorf("region %q", cat.Region)
	}
}

func TestDiscoverDefaults(t *testing.T) {
	applied := quotastest.Sample()[:2]
	defaults := []quotastest.Quota{
		{Name: applied[0].Name, Code: applied[0].Code, Value: 200000, Adjustable: true, AWSDefault: true},
		{Name: "Cross-region model inference tokens per minute for Anthropic Claude Haiku 4.5 V1", Code: "L-F1A000FF", Value: 250000, Adjustable: true, AWSDefault: true},
	}
	f := newFake(append(applied, defaults...))
	cat, err := quotas.Discover(t.Context(), f.client("us-east-1"), quotas.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if calls := f.Calls(); len(calls) != 2 || calls[0].op != "ListServiceQuotas" || calls[1].op != "ListAWSDefaultServiceQuotas" {
		t.Errorf("calls %+v", calls)
	}
	byCode := map[string]quotas.Entry{}
	for _, e := range cat.Entries {
		byCode[e.QuotaCode] = e
	}
	if e := byCode[applied[0].Code]; e.Value != 400000 || e.Default != 200000 || !e.Applied {
		t.Errorf("applied quota with a default: %+v", e)
	}
	if e := byCode["L-F1A000FF"]; e.Value != 250000 || e.Default != 250000 || e.Applied {
		t.Errorf("default-only quota: %+v", e)
	}
	if q, ok := cat.Quota("us.anthropic.claude-haiku-4-5-20251001-v1:0"); !ok || q.TokensPerWindow != 250000 {
		t.Errorf("default-only quota not used: %+v %v", q, ok)
	}
}

func TestWithModel(t *testing.T) {
	f := newFake(quotastest.Sample())
	cat, err := quotas.Discover(t.Context(), f.client("us-east-1"),
		quotas.WithModel("acme.frontier-x1-v1:0", "Frontier X1"), quotas.WithModel("acme.frontier-x1-v1:0", "Acme Frontier X1"))
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := cat.Quota("acme.frontier-x1-v1:0"); !ok || q.TokensPerWindow != 100000 {
		t.Errorf("added model: %+v, %v", q, ok)
	}
	for _, e := range cat.Entries {
		if e.ModelID == "" {
			t.Errorf("still unmapped: %+v", e)
		}
	}
}

func TestValuesAreCapped(t *testing.T) {
	f := newFake([]quotastest.Quota{
		{Name: "On-demand model inference tokens per minute for Amazon Nova Lite", Code: "L-1", Value: 1e18},
		{Name: "On-demand model inference tokens per minute for Amazon Nova Pro", Code: "L-2", Value: 0.5},
	})
	cat, err := quotas.Discover(t.Context(), f.client("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := cat.Quota("amazon.nova-lite-v1:0"); q.TokensPerWindow != 1<<50 {
		t.Errorf("huge quota: %+v, want capped at 2^50", q)
	}
	if q, ok := cat.Quota("amazon.nova-pro-v1:0"); ok {
		t.Errorf("quota under 1: %+v, want none", q)
	}
	if _, err := bedrockguard.New(cat.Options()...); err != nil {
		t.Errorf("bedrockguard.New: %v", err)
	}
}

// listOnly hides ListAWSDefaultServiceQuotas.
type listOnly struct{ c *servicequotas.Client }

func (l listOnly) ListServiceQuotas(ctx context.Context, in *servicequotas.ListServiceQuotasInput, o ...func(*servicequotas.Options)) (*servicequotas.ListServiceQuotasOutput, error) {
	return l.c.ListServiceQuotas(ctx, in, o...)
}

func TestDiscoverOptionErrors(t *testing.T) {
	f := newFake(quotastest.Sample())
	for _, tt := range []struct {
		option string
		client servicequotas.ListServiceQuotasAPIClient
		opts   []quotas.Option
	}{
		{"WithRegion", f.client("us-east-1"), []quotas.Option{quotas.WithRegion("")}},
		{"WithRegion", f.client("us-east-1"), []quotas.Option{quotas.WithRegion("US East (N. Virginia)")}},
		{"WithModel", f.client("us-east-1"), []quotas.Option{quotas.WithModel("", "Acme Frontier X1")}},
		{"WithModel", f.client("us-east-1"), []quotas.Option{quotas.WithModel("acme.x1", " ")}},
		{"WithDefaults", listOnly{f.client("us-east-1")}, []quotas.Option{quotas.WithDefaults()}},
	} {
		_, err := quotas.Discover(t.Context(), tt.client, tt.opts...)
		var oe *bedrockguard.OptionError
		if !errors.As(err, &oe) || oe.Option != "quotas."+tt.option || oe.Unwrap() == nil || !strings.HasPrefix(err.Error(), "bedrockguard: invalid option quotas."+tt.option+": ") {
			t.Errorf("%s: err = %v, want an *bedrockguard.OptionError", tt.option, err)
		}
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("%d calls made with invalid options", n)
	}
	if _, err := quotas.Discover(t.Context(), nil); err == nil {
		t.Error("nil client: no error")
	}
}
