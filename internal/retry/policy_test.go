package retry_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bedrockguard/bedrockguard/classify"
	rp "github.com/bedrockguard/bedrockguard/internal/retry"
)

func TestFullJitter(t *testing.T) {
	t.Parallel()
	const s = time.Second
	tests := []struct {
		retry     int
		base, max time.Duration
		r         float64
		want      time.Duration
	}{
		{0, s, 20 * s, 0.5, 500 * time.Millisecond},
		{1, s, 20 * s, 0.5, s},
		{2, s, 20 * s, 0.5, 2 * s},
		{3, s, 20 * s, 0.5, 4 * s},
		{4, s, 20 * s, 0.5, 8 * s},
		{5, s, 20 * s, 0.5, 10 * s}, // 32 s capped at 20 s
		{200, s, 20 * s, 0.5, 10 * s},
		{0, s, 20 * s, 0, 0},
		{2, s, 20 * s, 0.25, s},
		{0, 250 * time.Millisecond, 20 * s, 0.5, 125 * time.Millisecond},
		{0, s, 20 * s, 1.5, s},                                            // clamped to 1
		{3, s, time.Duration(math.MaxInt64), 0.9999999999999999, 8*s - 1}, // strictly below the ceiling
		{70, s, time.Duration(math.MaxInt64), 0.9999999999999999, time.Duration(0.9999999999999999 * float64(math.MaxInt64))},
		{0, s, 20 * s, -1, 0},         // clamped to 0
		{0, s, 20 * s, math.NaN(), 0}, // NaN is 0
		{-3, s, 20 * s, 0.5, 500 * time.Millisecond},
		{0, 30 * s, 20 * s, 0.5, 10 * s}, // base above cap
		{62, time.Duration(math.MaxInt64 / 4), time.Duration(math.MaxInt64), 0.5, time.Duration(0.5 * float64(math.MaxInt64))},
	}
	for _, tt := range tests {
		if got := rp.FullJitter(tt.retry, tt.base, tt.max, tt.r); got != tt.want {
			t.Errorf("FullJitter(%d, %v, %v, %v) = %v, want %v", tt.retry, tt.base, tt.max, tt.r, got, tt.want)
		}
	}
}

func TestDelayAndBaseByClass(t *testing.T) {
	t.Parallel()
	p, err := rp.New(rp.Options{Rand: fixedRand(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind    classify.Kind
		attempt int
		want    time.Duration
	}{
		{classify.ThrottleTokens, 1, 500 * time.Millisecond},
		{classify.ThrottleRequests, 2, time.Second},
		{classify.ThrottleUnknown, 3, 2 * time.Second},
		{classify.ModelNotReady, 1, time.Second},
		{classify.ModelNotReady, 4, 8 * time.Second},
		{classify.Unavailable, 1, 125 * time.Millisecond},
		{classify.Timeout, 3, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.attempt, classify.Of(tt.kind)); got != tt.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.kind, got, tt.want)
		}
	}
}

func attemptErr(status int, apiErr error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: apiErr}}
}

// clockSkewErr mimics the SDK's retryableClockSkewError.
type clockSkewErr struct{ error }

func (e clockSkewErr) RetryableError() bool { return true }
func (e clockSkewErr) Unwrap() error        { return e.error }

// Every row of the "What is retried" table in the retrypolicy package doc
// (classes as in the classify package doc), through the wrapped retryer.
func TestIsErrorRetryableByDesignRow(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{})
	noTimeouts, _ := rp.New(rp.Options{NoTimeoutRetries: true})
	r, rNoTimeouts := p.Wrap(retry.NewStandard()), noTimeouts.Wrap(retry.NewStandard())
	msg := aws.String
	tests := []struct {
		name     string
		err      error
		want     bool
		noTimout bool // with NoTimeoutRetries
	}{
		{"throttle requests", attemptErr(429, &types.ThrottlingException{Message: msg("Too many requests, please wait before trying again.")}), true, true},
		{"throttle tokens", attemptErr(429, &types.ThrottlingException{Message: msg("Too many tokens, please wait before trying again.")}), true, true},
		{"throttle tokens per day", attemptErr(429, &types.ThrottlingException{Message: msg("Too many tokens per day, please wait before trying again.")}), false, false},
		{"throttle unknown (unmodeled 429)", attemptErr(429, &smithy.GenericAPIError{}), true, true},
		{"unavailable 503", attemptErr(503, &types.ServiceUnavailableException{}), true, true},
		{"unavailable 500", attemptErr(500, &types.InternalServerException{}), true, true},
		{"model not ready", attemptErr(429, &types.ModelNotReadyException{}), true, true},
		{"model timeout", attemptErr(408, &types.ModelTimeoutException{}), true, false},
		{"validation", attemptErr(400, &types.ValidationException{Message: msg("Input is too long for requested model.")}), false, false},
		{"access denied", attemptErr(403, &types.AccessDeniedException{}), false, false},
		{"not found", attemptErr(404, &types.ResourceNotFoundException{}), false, false},
		{"service quota exceeded", attemptErr(400, &types.ServiceQuotaExceededException{}), false, false},
		{"canceled", &smithy.CanceledError{Err: context.Canceled}, false, false},
		{"clock skew marked by the SDK", clockSkewErr{attemptErr(403, &types.AccessDeniedException{})}, true, true},
	}
	for _, tt := range tests {
		if got := r.IsErrorRetryable(tt.err); got != tt.want {
			t.Errorf("%s: IsErrorRetryable = %v, want %v", tt.name, got, tt.want)
		}
		if got := rNoTimeouts.IsErrorRetryable(tt.err); got != tt.noTimout {
			t.Errorf("%s (NoTimeoutRetries): IsErrorRetryable = %v, want %v", tt.name, got, tt.noTimout)
		}
	}
	if r.MaxAttempts() != 5 {
		t.Errorf("MaxAttempts = %d", r.MaxAttempts())
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field string
		o     rp.Options
	}{
		{"MaxAttempts", rp.Options{MaxAttempts: -1}},
		{"ThrottleBase", rp.Options{ThrottleBase: -time.Second}},
		{"MaxBackoff", rp.Options{MaxBackoff: -1}},
		{"BudgetCapacity", rp.Options{BudgetCapacity: math.NaN()}},
		{"SuccessCredit", rp.Options{SuccessCredit: -0.1}},
		{"RetryCost", rp.Options{RetryCost: 5, BudgetCapacity: 1}},
	}
	for _, tt := range tests {
		p, err := rp.New(tt.o)
		var oe *rp.OptionsError
		if p != nil || !errors.As(err, &oe) || oe.Field != tt.field {
			t.Errorf("New(%+v) = %v, %v; want *OptionsError for %s", tt.o, p, err, tt.field)
		}
	}
	if _, err := rp.New(rp.Options{RetryCost: 5, BudgetCapacity: 1, NoBudget: true}); err != nil {
		t.Errorf("budget fields are irrelevant without a budget: %v", err)
	}
}

// fakeInner counts what the wrapper delegates.
type fakeInner struct {
	aws.NopRetryer
	attemptTokens, retryTokens, released int
}

func (f *fakeInner) GetAttemptToken(context.Context) (func(error) error, error) {
	f.attemptTokens++
	return func(error) error { f.released++; return nil }, nil
}

func (f *fakeInner) GetRetryToken(context.Context, error) (func(error) error, error) {
	f.retryTokens++
	return nil, errors.New("inner quota must not be charged")
}

func TestWrapDelegatesAttemptTokensNotRetryQuota(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{})
	inner := &fakeInner{}
	r := p.Wrap(inner)
	release, err := r.GetAttemptToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = release(nil)
	if inner.attemptTokens != 1 || inner.released != 1 {
		t.Errorf("attempt token not delegated: %+v", inner)
	}
	if _, err := r.GetRetryToken(context.Background(), attemptErr(429, &types.ThrottlingException{})); err != nil {
		t.Errorf("GetRetryToken: %v", err)
	}
	if inner.retryTokens != 0 {
		t.Error("the inner retry quota was charged")
	}
}

func TestWrapIsIdempotent(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{})
	q, _ := rp.New(rp.Options{})
	inner := &fakeInner{}
	once := p.Wrap(inner)
	if twice := p.Wrap(once); twice != once {
		t.Error("Wrap of an already wrapped retryer made a new one")
	}
	// Another policy replaces the first instead of stacking on it.
	other := q.Wrap(once)
	_, _ = other.GetAttemptToken(context.Background())
	if inner.attemptTokens != 1 {
		t.Errorf("inner called %d times", inner.attemptTokens)
	}
	// An SDK decorator between two wrappers: the attempt is counted once.
	sandwich := p.Wrap(retry.AddWithMaxAttempts(p.Wrap(inner), 7))
	release, _ := sandwich.GetAttemptToken(context.Background())
	_ = release(nil)
	if inner.attemptTokens != 2 || inner.released != 1 {
		t.Errorf("inner = %+v", inner)
	}
	// A nil inner acts as NopRetryer.
	if r := p.Wrap(nil); r.MaxAttempts() != 5 {
		t.Error("nil inner")
	}
}

func TestServiceOptionOnlyTouchesBedrockRuntime(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{})
	opt := p.ServiceOption()
	o := &bedrockruntime.Options{Retryer: retry.NewStandard()}
	opt("STS", o)
	if len(o.APIOptions) != 0 {
		t.Fatal("touched another service")
	}
	opt(bedrockruntime.ServiceID, o)
	if len(o.APIOptions) != 1 || o.Retryer.MaxAttempts() != 5 {
		t.Errorf("not wired: %d api options, max attempts %d", len(o.APIOptions), o.Retryer.MaxAttempts())
	}
}

// Concurrent use of one policy by many goroutines (run with -race).
func TestBudgetConcurrent(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{BudgetCapacity: 50})
	r := p.Wrap(retry.NewStandard())
	errThrottle := attemptErr(429, &types.ThrottlingException{})
	done := make(chan int)
	for range 8 {
		go func() {
			granted := 0
			for range 20 {
				if _, err := r.GetRetryToken(context.Background(), errThrottle); err == nil {
					granted++
				}
				rel, _ := r.GetAttemptToken(context.Background())
				_ = rel(errThrottle)
			}
			done <- granted
		}()
	}
	total := 0
	for range 8 {
		total += <-done
	}
	if total != 50 {
		t.Errorf("granted %d retries from a budget of 50", total)
	}
}

func TestGiveUpErrorText(t *testing.T) {
	t.Parallel()
	g := &rp.GiveUpError{
		Reason: rp.ReasonBudget,
		Attempts: []rp.Attempt{
			{Number: 1, Class: classify.Of(classify.ThrottleTokens), Delay: time.Second},
			{Number: 2, Class: classify.Of(classify.Unavailable)},
		},
		Err: errors.New("boom"),
	}
	want := "bedrockguard: gave up after 2 attempts (budget_exhausted; throttle_tokens, unavailable): boom"
	if g.Error() != want {
		t.Errorf("Error() = %q", g.Error())
	}
	if g.Attempts[len(g.Attempts)-1].Class.Kind != classify.Unavailable {
		t.Error("Last")
	}
}

// With paced attempts a throttle's retry waits for pacing admission: the
// budget neither charges nor refuses it, and still bounds other retries.
func TestPacedThrottlesBypassBudget(t *testing.T) {
	t.Parallel()
	p, _ := rp.New(rp.Options{BudgetCapacity: 2, PacedThrottles: true})
	r := p.Wrap(retry.NewStandard())
	errThrottle := attemptErr(429, &types.ThrottlingException{})
	errUnavailable := attemptErr(503, &types.ServiceUnavailableException{})
	for i := range 100 {
		if _, err := r.GetRetryToken(context.Background(), errThrottle); err != nil {
			t.Fatalf("throttle retry %d refused: %v", i, err)
		}
	}
	if avail, _ := p.BudgetAvailable(); avail != 2 {
		t.Fatalf("budget after 100 paced throttle retries %v, want untouched 2", avail)
	}
	granted := 0
	for range 5 {
		if _, err := r.GetRetryToken(context.Background(), errUnavailable); err == nil {
			granted++
		}
	}
	if granted != 2 {
		t.Fatalf("granted %d retries of 503s from a budget of 2", granted)
	}
}
