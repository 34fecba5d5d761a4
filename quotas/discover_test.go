package quotas_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// newClient returns a real servicequotas client pointed at the fake, with
// the SDK's own retries off so that only Discover's backoff is exercised.
func newClient(srv *quotastest.Server, region string) *servicequotas.Client {
	return servicequotas.New(servicequotas.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// sleeps records the backoff delays instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

const (
	haiku35  = "anthropic.claude-3-5-haiku-20241022-v1:0"
	sonnet35 = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	sonnet37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
	sonnet4  = "anthropic.claude-sonnet-4-20250514-v1:0"
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
)

func TestDiscoverThroughRealClient(t *testing.T) {
	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{PageSize: 5, ThrottleFirst: 1})
	defer srv.Close()
	var sl sleeps
	cat, err := quotas.Discover(context.Background(), newClient(srv, "us-east-1"), quotas.WithSleep(sl.sleep))
	if err != nil {
		t.Fatal(err)
	}

	// The wire: a throttled first call, retried after one backoff, then
	// every page, each signed, for service code "bedrock".
	calls := srv.Calls()
	if n := len(quotastest.Sample()); len(calls) != 1+(n+4)/5 {
		t.Errorf("%d calls, want %d", len(calls), 1+(n+4)/5)
	}
	for i, c := range calls {
		if c.Operation != "ListServiceQuotas" || c.ServiceCode != "bedrock" || !c.Signed || c.MaxResults != 100 {
			t.Errorf("call %d: %+v", i, c)
		}
	}
	if !calls[0].Throttled || calls[1].NextToken != "" || calls[2].NextToken != "page-5" {
		t.Errorf("throttle then first page again, then page-5: %+v", calls[:3])
	}
	if len(sl.d) != 1 || sl.d[0] < 500*time.Millisecond || sl.d[0] > time.Second {
		t.Errorf("backoff delays %v, want one in [0.5s, 1s]", sl.d)
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
	if um := cat.Unmapped(); len(um) != 1 || um[0].Model != "Acme Frontier X1" || cat.Entries[len(cat.Entries)-1].ModelID != "" {
		t.Errorf("unmapped %+v, want only Acme Frontier X1, listed last", um)
	}

	tests := []struct {
		id   string
		want bedrockguard.Quota
		ok   bool
	}{
		{haiku35, bedrockguard.Quota{TokensPerMinute: 400000, RequestsPerMinute: 200}, true},
		{"us." + haiku35, bedrockguard.Quota{}, false},
		{sonnet35, bedrockguard.Quota{TokensPerMinute: 400000}, true},
		{"us." + sonnet35, bedrockguard.Quota{TokensPerMinute: 800000}, true},
		{"eu." + sonnet35, bedrockguard.Quota{}, false}, // us-east-1 calls only us. profiles
		{sonnet37, bedrockguard.Quota{}, false},         // 3.7 and later: no on-demand quota
		{"us." + sonnet37, bedrockguard.Quota{TokensPerMinute: 1000000}, true},
		{"us." + sonnet4, bedrockguard.Quota{TokensPerMinute: 200000}, true},
		{"global." + sonnet4, bedrockguard.Quota{TokensPerMinute: 300000}, true},
		// Sonnet 4.5: the 1M-context quota is left out; tokens per day is
		// the smaller of the cross-region and the any-route quota.
		{"us." + sonnet45, bedrockguard.Quota{TokensPerMinute: 400000, TokensPerDay: 288000000}, true},
		{"global." + sonnet45, bedrockguard.Quota{TokensPerMinute: 500000, TokensPerDay: 288000000}, true},
		{sonnet45, bedrockguard.Quota{TokensPerDay: 288000000}, true},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global." + sonnet45, bedrockguard.Quota{TokensPerMinute: 500000, TokensPerDay: 288000000}, true},
		{"amazon.nova-lite-v1:0", bedrockguard.Quota{TokensPerMinute: 2000000}, true},
		{"us.amazon.nova-lite-v1:0", bedrockguard.Quota{TokensPerMinute: 4000000}, true},
		{"meta.llama3-1-8b-instruct-v1:0", bedrockguard.Quota{TokensPerMinute: 300000}, true},
		{"mistral.mistral-large-2407-v1:0", bedrockguard.Quota{RequestsPerMinute: 50}, true},
		{"cohere.command-r-plus-v1:0", bedrockguard.Quota{TokensPerMinute: 300000}, true},
		{"amazon.titan-embed-text-v2:0", bedrockguard.Quota{TokensPerMinute: 300000}, true},
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

	// Options install: every ID with a quota becomes a WithQuota.
	opts := cat.Options()
	if len(opts) != len(cat.IDs()) || len(opts) == 0 {
		t.Fatalf("%d options for %d IDs", len(opts), len(cat.IDs()))
	}
	if _, err := bedrockguard.New(opts...); err != nil {
		t.Fatalf("bedrockguard.New(catalog.Options()...): %v", err)
	}
}

func TestDiscoverRegionDecidesProfiles(t *testing.T) {
	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{})
	defer srv.Close()
	cat, err := quotas.Discover(context.Background(), newClient(srv, "eu-west-1"))
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
	cat, err = quotas.Discover(context.Background(), newClient(srv, "eu-west-1"), quotas.WithRegion("ap-southeast-2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"apac." + sonnet37, "au." + sonnet37} {
		if _, ok := cat.Quota(id); !ok {
			t.Errorf("ap-southeast-2: no quota on %s", id)
		}
	}
}

func TestDiscoverDefaults(t *testing.T) {
	applied := quotastest.Sample()[:2]
	defaults := []quotastest.Quota{
		{Name: applied[0].Name, Code: applied[0].Code, Value: 200000, Adjustable: true},
		{Name: "Cross-region model inference tokens per minute for Anthropic Claude Haiku 4.5 V1", Code: "L-F1A000FF", Value: 250000, Adjustable: true},
	}
	srv := quotastest.NewServer(applied, quotastest.Options{Defaults: defaults})
	defer srv.Close()
	cat, err := quotas.Discover(context.Background(), newClient(srv, "us-east-1"), quotas.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if ops := []string{srv.Calls()[0].Operation, srv.Calls()[1].Operation}; ops[1] != "ListAWSDefaultServiceQuotas" {
		t.Errorf("operations %v", ops)
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
	if q, ok := cat.Quota("us.anthropic.claude-haiku-4-5-20251001-v1:0"); !ok || q.TokensPerMinute != 250000 {
		t.Errorf("default-only quota not used: %+v %v", q, ok)
	}
}

// listOnly hides ListAWSDefaultServiceQuotas.
type listOnly struct{ c *servicequotas.Client }

func (l listOnly) ListServiceQuotas(ctx context.Context, in *servicequotas.ListServiceQuotasInput, o ...func(*servicequotas.Options)) (*servicequotas.ListServiceQuotasOutput, error) {
	return l.c.ListServiceQuotas(ctx, in, o...)
}

func TestDiscoverErrors(t *testing.T) {
	ctx := context.Background()

	// Throttled past the retries: the throttle is returned, after
	// Retries growing delays capped at Max.
	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{ThrottleFirst: 100})
	defer srv.Close()
	var sl sleeps
	b := quotas.Backoff{Base: time.Second, Max: 4 * time.Second, Retries: 4}
	_, err := quotas.Discover(ctx, newClient(srv, "us-east-1"), quotas.WithSleep(sl.sleep), quotas.WithBackoff(b))
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || !quotas.IsThrottle(err) || !strings.Contains(err.Error(), "page 1") {
		t.Errorf("err = %v, want a TooManyRequestsException", err)
	}
	if len(srv.Calls()) != 5 || len(sl.d) != 4 {
		t.Errorf("%d calls, delays %v; want 5 calls, 4 delays", len(srv.Calls()), sl.d)
	}
	for i, d := range sl.d {
		hi := min(b.Base<<i, b.Max)
		if d < hi/2 || d > hi {
			t.Errorf("delay %d = %v, want in [%v, %v]", i, d, hi/2, hi)
		}
	}

	// A cancelled context stops the backoff.
	srv2 := quotastest.NewServer(quotastest.Sample(), quotastest.Options{ThrottleFirst: 100})
	defer srv2.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := quotas.Discover(cctx, newClient(srv2, "us-east-1")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	// Errors other than throttles are not retried.
	srv3 := quotastest.NewServer(quotastest.Sample(), quotastest.Options{})
	defer srv3.Close()
	bad := servicequotas.New(servicequotas.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv3.URL), Retryer: aws.NopRetryer{},
		Credentials: aws.AnonymousCredentials{}})
	sl = sleeps{}
	_, err = quotas.Discover(ctx, bad, quotas.WithSleep(sl.sleep))
	if err == nil || quotas.IsThrottle(err) || len(sl.d) != 0 || len(srv3.Calls()) != 1 {
		t.Errorf("unsigned: err %v, delays %v, calls %d", err, sl.d, len(srv3.Calls()))
	}

	// WithDefaults needs the defaults operation.
	if _, err := quotas.Discover(ctx, listOnly{newClient(srv3, "us-east-1")}, quotas.WithDefaults()); err == nil || !strings.Contains(err.Error(), "ListAWSDefaultServiceQuotas") {
		t.Errorf("WithDefaults without the operation: %v", err)
	}
}

func TestCache(t *testing.T) {
	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{})
	defer srv.Close()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	c := quotas.NewCache(newClient(srv, "us-east-1"), 0, quotas.WithClock(clock))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if cat, err := c.Catalog(ctx); err != nil || len(cat.Entries) == 0 {
				t.Errorf("Catalog: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("%d listings for 8 concurrent callers, want 1", n)
	}
	advance(quotas.DefaultTTL - time.Second)
	first, _ := c.Catalog(ctx)
	if n := len(srv.Calls()); n != 1 {
		t.Errorf("refreshed before the TTL: %d listings", n)
	}
	advance(time.Second)
	second, _ := c.Catalog(ctx)
	if n := len(srv.Calls()); n != 2 || second == first || !second.FetchedAt.Equal(now) {
		t.Errorf("not refreshed at the TTL: %d listings", n)
	}
	c.Invalidate()
	if _, _ = c.Catalog(ctx); len(srv.Calls()) != 3 {
		t.Errorf("Invalidate did not force a listing")
	}

	// A failed refresh returns the previous catalog with the error.
	srv.Close()
	advance(quotas.DefaultTTL)
	cat, err := c.Catalog(ctx)
	if err == nil || cat == nil {
		t.Errorf("failed refresh: %v, %v", cat, err)
	}
}
