package quotas

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	smithy "github.com/aws/smithy-go"
	"github.com/bedrockguard/bedrockguard"
)

// serviceCode is Bedrock's service code in Service Quotas.
const serviceCode = "bedrock"

// How Discover retries a call that the Service Quotas API throttled: delay
// n (from 0) is drawn uniformly from [d/2, d], d = min(backoffMax,
// backoffBase×2ⁿ), up to backoffRetries times.
const (
	backoffBase    = time.Second
	backoffMax     = 20 * time.Second
	backoffRetries = 6
)

func backoffDelay(n int) time.Duration {
	d := backoffMax
	if n < 30 && backoffBase<<n < backoffMax {
		d = backoffBase << n
	}
	return d/2 + rand.N(d/2+1)
}

// Option configures [Discover]. An invalid option makes Discover fail with
// an [*bedrockguard.OptionError] before any call.
type Option func(*config) error

type config struct {
	defaults bool
	region   string
	models   []model
}

func optionErr(option, format string, args ...any) error {
	return &bedrockguard.OptionError{Option: "quotas." + option, Err: fmt.Errorf(format, args...)}
}

// WithDefaults also lists the AWS default values (ListAWSDefaultServiceQuotas):
// each entry gets its Default, and a quota with no applied value is kept
// with the default as its value. The client must then also implement
// servicequotas.ListAWSDefaultServiceQuotasAPIClient, as *servicequotas.Client
// does; otherwise Discover fails with an [*bedrockguard.OptionError].
func WithDefaults() Option {
	return func(c *config) error { c.defaults = true; return nil }
}

// WithRegion names the Region the client lists, which decides the
// geographic inference-profile prefixes of cross-region quotas: us. from
// us-* and ca-*, eu. from eu-*, apac. from ap-* (plus jp. from
// ap-northeast-1 and au. from ap-southeast-2), us-gov. from GovCloud, and
// us., eu. and apac. from an unknown Region. [Discover] reads the Region
// from a *servicequotas.Client when this option is not given. The Region is
// a code such as "us-east-1": lower-case letters, digits and hyphens.
func WithRegion(region string) Option {
	return func(c *config) error {
		if region == "" || strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return optionErr("WithRegion", "%q is not a Region code such as us-east-1", region)
		}
		c.region = region
		return nil
	}
}

// WithModel adds a model to the built-in table that maps the display names
// of quota names to model IDs, for models newer than the table: id is the
// base model ID ("acme.frontier-x1-v1:0") and name the display name quota
// names use ("Acme Frontier X1", with a " V2" suffix for a second version).
// Give the same id again for another name. An added model wins over a
// built-in one of the same name and version.
func WithModel(id, name string) Option {
	return func(c *config) error {
		base, version := strings.TrimSpace(name), 0
		if i := strings.LastIndex(base, " V"); i > 0 {
			if v, err := strconv.Atoi(base[i+2:]); err == nil && v >= 0 {
				base, version = base[:i], v
			}
		}
		if id == "" || base == "" {
			return optionErr("WithModel", "needs a model ID and a display name, got %q and %q", id, name)
		}
		c.models = append(c.models, model{ID: id, Name: base, Version: version})
		return nil
	}
}

// Discover lists the Bedrock quotas applied in the client's Region
// (service code "bedrock", every page), optionally the AWS defaults too
// ([WithDefaults]), and returns them parsed and mapped to model IDs.
//
// The Service Quotas API throttles its callers; a call throttled with
// TooManyRequestsException is retried, on top of the client's own retryer,
// after 1 s, 2 s, 4 s … up to 20 s (each drawn from its upper half, 6
// retries, 51 s at most in all). The context bounds the whole discovery: when it
// ends during a backoff, Discover returns the throttle together with the
// context's error. Names that do not parse are kept in Catalog.Unparsed;
// only API errors and invalid options ([*bedrockguard.OptionError]) fail discovery.
//
// The IAM permissions needed are servicequotas:ListServiceQuotas, and
// servicequotas:ListAWSDefaultServiceQuotas with WithDefaults.
func Discover(ctx context.Context, client servicequotas.ListServiceQuotasAPIClient, opts ...Option) (*Catalog, error) {
	if client == nil {
		return nil, errors.New("quotas: Discover needs a Service Quotas client")
	}
	var cfg config
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.region == "" {
		if c, ok := client.(interface{ Options() servicequotas.Options }); ok {
			cfg.region = c.Options().Region
		}
	}
	var dc servicequotas.ListAWSDefaultServiceQuotasAPIClient
	if cfg.defaults {
		var ok bool
		if dc, ok = client.(servicequotas.ListAWSDefaultServiceQuotasAPIClient); !ok {
			return nil, optionErr("WithDefaults", "the client (%T) has no ListAWSDefaultServiceQuotas", client)
		}
	}

	var applied, defaults []types.ServiceQuota
	p := servicequotas.NewListServiceQuotasPaginator(client,
		&servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(serviceCode)},
		func(o *servicequotas.ListServiceQuotasPaginatorOptions) { o.Limit = 100; o.StopOnDuplicateToken = true })
	for page := 1; p.HasMorePages(); page++ {
		out, err := retry(ctx, func() (*servicequotas.ListServiceQuotasOutput, error) { return p.NextPage(ctx) })
		if err != nil {
			return nil, fmt.Errorf("quotas: listing the %q service quotas (page %d): %w", serviceCode, page, err)
		}
		applied = append(applied, out.Quotas...)
	}
	if dc != nil {
		p := servicequotas.NewListAWSDefaultServiceQuotasPaginator(dc,
			&servicequotas.ListAWSDefaultServiceQuotasInput{ServiceCode: aws.String(serviceCode)},
			func(o *servicequotas.ListAWSDefaultServiceQuotasPaginatorOptions) {
				o.Limit = 100
				o.StopOnDuplicateToken = true
			})
		for page := 1; p.HasMorePages(); page++ {
			out, err := retry(ctx, func() (*servicequotas.ListAWSDefaultServiceQuotasOutput, error) { return p.NextPage(ctx) })
			if err != nil {
				return nil, fmt.Errorf("quotas: listing the %q AWS default quotas (page %d): %w", serviceCode, page, err)
			}
			defaults = append(defaults, out.Quotas...)
		}
	}
	return newCatalog(applied, defaults, cfg), nil
}

// retry calls f until it succeeds, fails with an error other than a
// throttle, or the backoff's retries are spent. The SDK paginators leave
// their state unchanged on error, so calling NextPage again retries the
// same page.
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	for n := 0; ; n++ {
		v, err := f()
		if err == nil || !isThrottle(err) || n >= backoffRetries {
			return v, err
		}
		if serr := sleep(ctx, backoffDelay(n)); serr != nil {
			return v, fmt.Errorf("backing off after %w: %w", err, serr)
		}
	}
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isThrottle reports whether err is the Service Quotas API throttling its
// caller (TooManyRequestsException, or a generic throttling code).
func isThrottle(err error) bool {
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
