package quotas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	smithy "github.com/aws/smithy-go"
)

// ServiceCode is Bedrock's service code in Service Quotas.
const ServiceCode = "bedrock"

// Backoff is how [Discover] retries a call that the Service Quotas API
// throttled (TooManyRequestsException): delay n (from 0) is drawn
// uniformly from [d/2, d], d = min(Max, Base×2ⁿ), up to Retries times.
type Backoff struct {
	Base    time.Duration
	Max     time.Duration
	Retries int
}

// DefaultBackoff is 1 s doubling to at most 20 s, 6 retries.
var DefaultBackoff = Backoff{Base: time.Second, Max: 20 * time.Second, Retries: 6}

func (b Backoff) delay(n int) time.Duration {
	d := b.Max
	if n < 30 && b.Base<<n < b.Max && b.Base<<n > 0 {
		d = b.Base << n
	}
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Option configures [Discover], [NewCatalog] and [Cache].
type Option func(*config)

type config struct {
	defaults bool
	region   string
	models   []Model
	backoff  Backoff
	sleep    func(context.Context, time.Duration) error
	now      func() time.Time
}

func newConfig(opts []Option) config {
	c := config{backoff: DefaultBackoff, sleep: sleepCtx, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithDefaults also lists the AWS default values (ListAWSDefaultServiceQuotas):
// each entry gets its Default, and a quota with no applied value is kept
// with the default as its value. The client must then also implement
// servicequotas.ListAWSDefaultServiceQuotasAPIClient (*servicequotas.Client
// does).
func WithDefaults() Option { return func(c *config) { c.defaults = true } }

// WithRegion names the Region the client lists, which decides the
// geographic profile prefixes of cross-region quotas (see [GeoPrefixes]).
// [Discover] reads it from a *servicequotas.Client when not given.
func WithRegion(region string) Option { return func(c *config) { c.region = region } }

// WithModels adds models to the built-in table (see [KnownModels]); an
// added model wins over a built-in one of the same name and version.
func WithModels(ms ...Model) Option {
	return func(c *config) { c.models = append(c.models, ms...) }
}

// WithBackoff replaces [DefaultBackoff].
func WithBackoff(b Backoff) Option { return func(c *config) { c.backoff = b } }

// WithSleep replaces the function that waits between throttled calls (by
// default a timer that gives up when ctx is done). Tests inject one that
// records the delays and returns at once.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) { c.sleep = sleep }
}

// WithClock replaces time.Now, for FetchedAt and the [Cache] TTL.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Discover lists the Bedrock quotas applied in the client's Region
// (service code "bedrock", every page), optionally the AWS defaults too
// ([WithDefaults]), and returns them parsed and mapped to model IDs. Calls
// throttled with TooManyRequestsException are retried with [Backoff] on
// top of the client's own retryer. Names that do not parse are kept in
// Catalog.Unparsed; only API errors fail discovery.
//
// The IAM permissions needed are servicequotas:ListServiceQuotas, and
// servicequotas:ListAWSDefaultServiceQuotas with WithDefaults.
func Discover(ctx context.Context, client servicequotas.ListServiceQuotasAPIClient, opts ...Option) (*Catalog, error) {
	cfg := newConfig(opts)
	if cfg.region == "" {
		if c, ok := client.(interface{ Options() servicequotas.Options }); ok {
			opts = append(opts, WithRegion(c.Options().Region))
		}
	}
	var applied, defaults []types.ServiceQuota
	p := servicequotas.NewListServiceQuotasPaginator(client,
		&servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(ServiceCode)},
		func(o *servicequotas.ListServiceQuotasPaginatorOptions) { o.Limit = 100; o.StopOnDuplicateToken = true })
	for page := 1; p.HasMorePages(); page++ {
		out, err := retry(ctx, cfg, func() (*servicequotas.ListServiceQuotasOutput, error) { return p.NextPage(ctx) })
		if err != nil {
			return nil, fmt.Errorf("quotas: listing the %q service quotas (page %d): %w", ServiceCode, page, err)
		}
		applied = append(applied, out.Quotas...)
	}
	if cfg.defaults {
		dc, ok := client.(servicequotas.ListAWSDefaultServiceQuotasAPIClient)
		if !ok {
			return nil, errors.New("quotas: WithDefaults needs a client that also has ListAWSDefaultServiceQuotas")
		}
		p := servicequotas.NewListAWSDefaultServiceQuotasPaginator(dc,
			&servicequotas.ListAWSDefaultServiceQuotasInput{ServiceCode: aws.String(ServiceCode)},
			func(o *servicequotas.ListAWSDefaultServiceQuotasPaginatorOptions) {
				o.Limit = 100
				o.StopOnDuplicateToken = true
			})
		for page := 1; p.HasMorePages(); page++ {
			out, err := retry(ctx, cfg, func() (*servicequotas.ListAWSDefaultServiceQuotasOutput, error) { return p.NextPage(ctx) })
			if err != nil {
				return nil, fmt.Errorf("quotas: listing the %q AWS default quotas (page %d): %w", ServiceCode, page, err)
			}
			defaults = append(defaults, out.Quotas...)
		}
	}
	return NewCatalog(applied, defaults, opts...), nil
}

// retry calls f until it succeeds, fails with an error other than a
// throttle, or the backoff's retries are spent. The SDK paginators leave
// their state unchanged on error, so calling NextPage again retries the
// same page.
func retry[T any](ctx context.Context, cfg config, f func() (T, error)) (T, error) {
	for n := 0; ; n++ {
		v, err := f()
		if err == nil || !IsThrottle(err) || n >= cfg.backoff.Retries {
			return v, err
		}
		if serr := cfg.sleep(ctx, cfg.backoff.delay(n)); serr != nil {
			return v, fmt.Errorf("backing off after %w: %w", err, serr)
		}
	}
}

// IsThrottle reports whether err is the Service Quotas API throttling its
// caller (TooManyRequestsException, or a generic throttling code).
func IsThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded":
		return true
	}
	return false
}
