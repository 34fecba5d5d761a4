package tokens

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Defaults of [Options].
const (
	DefaultCacheSize          = 8192
	DefaultMaxTokenizeBytes   = 48 << 10
	DefaultCalibrationWindow  = 64
	DefaultCountTokensTimeout = 2 * time.Second
)

// exactBlockBytes is the largest text block counted exactly; larger blocks
// are extrapolated from samples of sampleBytes each.
const (
	exactBlockBytes = 32 << 10
	sampleCount     = 4
	sampleBytes     = 2 << 10
	// maxBodyBytes: InvokeModel bodies larger than this are not parsed.
	maxBodyBytes = 32 << 20
)

// Structural overheads added per request and per message (role markers and
// separators). Calibration absorbs the difference to a model's real template.
const (
	requestOverhead = 3
	messageOverhead = 4
)

// Options configures an [Estimator]. The zero value is ready to use.
type Options struct {
	// Tokenizer counts text; nil means [Default].
	Tokenizer Tokenizer
	// Burndown overrides the output burndown rate, keyed by model ID (as
	// sent, or without ARN and inference-profile prefix) or by family name
	// ("anthropic", ...). Model IDs win over families. Values must be > 0.
	Burndown map[string]float64
	// DefaultMaxTokens overrides the output reservation for requests that
	// set no max_tokens, keyed like Burndown. Values must be >= 0.
	DefaultMaxTokens map[string]int
	// CacheSize is the number of text blocks whose counts are remembered;
	// 0 means DefaultCacheSize, a negative value disables the cache.
	CacheSize int
	// MaxTokenizeBytes bounds the bytes handed to the Tokenizer per
	// estimate; text beyond it is estimated from bytes. 0 means
	// DefaultMaxTokenizeBytes.
	MaxTokenizeBytes int
	// CalibrationWindow is the number of recent observations per family
	// whose median ratio calibrates estimates; 0 means
	// DefaultCalibrationWindow.
	CalibrationWindow int
	// CountTokens, if set, is used by [Estimator.EstimateContext] to count
	// the input exactly for models that support Bedrock's CountTokens API.
	CountTokens CountTokensClient
	// CountTokensModels reports whether a (base) model ID supports
	// CountTokens; nil means [SupportsCountTokens].
	CountTokensModels func(baseModelID string) bool
	// CountTokensTimeout bounds one CountTokens call; 0 means
	// DefaultCountTokensTimeout.
	CountTokensTimeout time.Duration
}

// Operation names the Bedrock Runtime operation an [Estimate] is for.
type Operation string

// The operations [Estimator.Estimate] understands.
const (
	OpConverse                      Operation = "Converse"
	OpConverseStream                Operation = "ConverseStream"
	OpInvokeModel                   Operation = "InvokeModel"
	OpInvokeModelWithResponseStream Operation = "InvokeModelWithResponseStream"
	OpCountTokens                   Operation = "CountTokens"
)

// Estimate is what a call is expected to charge against the TPM quota.
type Estimate struct {
	// ModelID is the model ID as sent (possibly an inference profile or ARN).
	ModelID string
	// Family is the model family of ModelID.
	Family Family
	// Operation is the operation of the input; empty for an unknown input.
	Operation Operation
	// RawInputTokens is the tokenizer (or byte) count before calibration.
	RawInputTokens int
	// InputTokens is RawInputTokens calibrated for the family, with a
	// safety margin until calibration has data; equal to RawInputTokens
	// when Exact.
	InputTokens int
	// MaxTokens is the output reservation: the request's max_tokens, or
	// the model's default when MaxTokensExplicit is false.
	MaxTokens         int
	MaxTokensExplicit bool
	// Burndown is the rate at which output tokens count against the quota.
	Burndown float64
	// Fallback reports that part or all of the input was estimated from
	// bytes instead of tokenised: an unparseable or oversized body, a text
	// block over the per-call tokenizer budget, an unknown input type.
	Fallback bool
	// Exact reports that InputTokens came from Bedrock's CountTokens API.
	Exact bool

	// reserveInput is RawInputTokens calibrated at the upper quantile of
	// the family's ratios (see reserveQuantile): what a reservation counts
	// for the input unless Exact.
	reserveInput int
}

// ReserveTokens is what admission charges: the input (InputTokens, or more
// when the family's calibration ratios spread: see reserveQuantile) +
// MaxTokens x Burndown, rounded up. It is 0 for CountTokens operations, which Bedrock
// does not charge.
func (e Estimate) ReserveTokens() int64 {
	if e.Operation == OpCountTokens {
		return 0
	}
	out := float64(min(max(e.MaxTokens, 0), MaxOutputTokens))
	in := max(e.InputTokens, 0)
	if !e.Exact {
		in = max(in, e.reserveInput)
	}
	return SaturatingTokens(float64(in) + math.Ceil(out*burndownOrOne(e.Burndown)))
}

// maxBurndown is the largest output burndown rate Options.Burndown accepts
// (Bedrock's largest is 5).
const maxBurndown = 100

// MaxOutputTokens bounds an output reservation: a max_tokens above it (no
// model generates a million tokens in one call; the largest outputs are
// 128K) is clamped to it, so that one request cannot reserve an absurd or
// overflowing amount.
const MaxOutputTokens = 1 << 20

// MaxReserveTokens bounds every token count the guard hands to pacing (a
// reservation, a settlement): values above it, NaN and overflows saturate to
// it; negative values are 0. It is far above any real quota, so a
// reservation that large fails as too large instead of wrapping negative.
const MaxReserveTokens int64 = 1 << 40

// SaturatingTokens converts a token count computed in floating point to an
// int64 in [0, MaxReserveTokens]: NaN and +Inf saturate high, -Inf and
// negative values to 0.
func SaturatingTokens(v float64) int64 {
	switch {
	case math.IsNaN(v) || v >= float64(MaxReserveTokens):
		return MaxReserveTokens
	case v <= 0:
		return 0
	}
	return int64(v)
}

// burndownOrOne returns b when it is a usable rate, else 1.
func burndownOrOne(b float64) float64 {
	if !(b > 0) || math.IsInf(b, 0) {
		return 1
	}
	return b
}

// Stats are cumulative counters of an [Estimator], for telemetry.
type Stats struct {
	Estimates         int64 // calls of Estimate / EstimateContext
	Fallbacks         int64 // estimates with Fallback set
	UnparseableBodies int64 // InvokeModel bodies (or inputs) that could not be read
	CacheHits         int64 // text blocks found in the count cache
	CacheMisses       int64 // text blocks counted or estimated
	TokenizedBytes    int64 // bytes handed to the Tokenizer
	CountTokensCalls  int64 // CountTokens API calls made
	CountTokensErrors int64 // CountTokens API calls that failed (estimate used)
}

// Estimator estimates and calibrates token costs. It is safe for concurrent
// use; a guard uses one for all its clients so that calibration is shared.
type Estimator struct {
	tok       Tokenizer
	seed      maphash.Seed
	cache     *countCache
	cal       *calibrator
	burndown  map[string]float64
	maxTokens map[string]int
	budget    int
	exact     *exactCounter

	estimates, fallbacks, unparseable atomic.Int64
	hits, misses, tokenized           atomic.Int64
	ctCalls, ctErrors                 atomic.Int64
}

// New returns an Estimator configured by opts.
func New(opts Options) (*Estimator, error) {
	var errs []error
	for k, v := range opts.Burndown {
		if !(v > 0) || v > maxBurndown {
			errs = append(errs, fmt.Errorf("burndown for %q must be in (0, %d], got %v", k, maxBurndown, v))
		}
	}
	for k, v := range opts.DefaultMaxTokens {
		if v < 0 || v > MaxOutputTokens {
			errs = append(errs, fmt.Errorf("default max tokens for %q must be in [0, %d], got %d", k, MaxOutputTokens, v))
		}
	}
	if opts.MaxTokenizeBytes < 0 || opts.CalibrationWindow < 0 || opts.CountTokensTimeout < 0 {
		errs = append(errs, errors.New("MaxTokenizeBytes, CalibrationWindow and CountTokensTimeout must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	e := &Estimator{
		tok:       opts.Tokenizer,
		seed:      maphash.MakeSeed(),
		burndown:  copyMap(opts.Burndown),
		maxTokens: copyMap(opts.DefaultMaxTokens),
		budget:    cmpOr(opts.MaxTokenizeBytes, DefaultMaxTokenizeBytes),
		cal:       newCalibrator(cmpOr(opts.CalibrationWindow, DefaultCalibrationWindow)),
	}
	if e.tok == nil {
		e.tok = Default()
	}
	if opts.CacheSize >= 0 {
		e.cache = newCountCache(cmpOr(opts.CacheSize, DefaultCacheSize))
	}
	if opts.CountTokens != nil {
		e.exact = newExactCounter(opts, e.cache != nil)
	}
	return e, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Stats returns the estimator's cumulative counters.
func (e *Estimator) Stats() Stats {
	return Stats{
		Estimates: e.estimates.Load(), Fallbacks: e.fallbacks.Load(), UnparseableBodies: e.unparseable.Load(),
		CacheHits: e.hits.Load(), CacheMisses: e.misses.Load(), TokenizedBytes: e.tokenized.Load(),
		CountTokensCalls: e.ctCalls.Load(), CountTokensErrors: e.ctErrors.Load(),
	}
}

// Estimate reads a typed operation input (*bedrockruntime.ConverseInput,
// *ConverseStreamInput, *InvokeModelInput, *InvokeModelWithResponseStreamInput
// or *CountTokensInput) and estimates its cost. It never fails: an input it
// cannot read is estimated from bytes and reported with Fallback set. It does
// no I/O; see [Estimator.EstimateContext] for exact counting.
func (e *Estimator) Estimate(input any) Estimate {
	est, _ := e.estimate(input)
	return est
}

// estimate returns the estimate and the request's fingerprint (for the
// CountTokens cache).
func (e *Estimator) estimate(input any) (Estimate, uint64) {
	e.estimates.Add(1)
	w := walk{e: e, budget: e.budget, fp: 14695981039346656037}
	var est Estimate
	var maxTok *int32
	switch in := input.(type) {
	case *bedrockruntime.ConverseInput:
		if in != nil {
			est.Operation, est.ModelID = OpConverse, deref(in.ModelId)
			w.setModel(est.ModelID)
			w.converse(in.Messages, in.System, in.ToolConfig)
			if in.InferenceConfig != nil {
				maxTok = in.InferenceConfig.MaxTokens
			}
		}
	case *bedrockruntime.ConverseStreamInput:
		if in != nil {
			est.Operation, est.ModelID = OpConverseStream, deref(in.ModelId)
			w.setModel(est.ModelID)
			w.converse(in.Messages, in.System, in.ToolConfig)
			if in.InferenceConfig != nil {
				maxTok = in.InferenceConfig.MaxTokens
			}
		}
	case *bedrockruntime.InvokeModelInput:
		if in != nil {
			est.Operation, est.ModelID = OpInvokeModel, deref(in.ModelId)
			w.setModel(est.ModelID)
			est.MaxTokens, est.MaxTokensExplicit = w.body(in.Body)
		}
	case *bedrockruntime.InvokeModelWithResponseStreamInput:
		if in != nil {
			est.Operation, est.ModelID = OpInvokeModelWithResponseStream, deref(in.ModelId)
			w.setModel(est.ModelID)
			est.MaxTokens, est.MaxTokensExplicit = w.body(in.Body)
		}
	case *bedrockruntime.CountTokensInput:
		if in != nil {
			est.Operation, est.ModelID = OpCountTokens, deref(in.ModelId)
			w.setModel(est.ModelID)
			switch v := in.Input.(type) {
			case *types.CountTokensInputMemberConverse:
				w.converse(v.Value.Messages, v.Value.System, v.Value.ToolConfig)
			case *types.CountTokensInputMemberInvokeModel:
				w.body(v.Value.Body)
			default:
				w.fallback = true
			}
			est.MaxTokensExplicit = true // CountTokens generates nothing
		}
	default:
		w.fallback = true
		e.unparseable.Add(1)
	}
	est.Family = w.fam
	if est.Operation == "" {
		est.Family = Unknown
	}
	base := BaseModelID(est.ModelID)
	if maxTok != nil && *maxTok >= 0 {
		est.MaxTokens, est.MaxTokensExplicit = int(*maxTok), true
	}
	est.MaxTokens = min(max(est.MaxTokens, 0), MaxOutputTokens)
	if !est.MaxTokensExplicit {
		if v, ok := lookup(e.maxTokens, est.ModelID, base, est.Family); ok {
			est.MaxTokens = v
		} else {
			est.MaxTokens = defaultMaxTokens(base, est.Family)
		}
	}
	if v, ok := lookup(e.burndown, est.ModelID, base, est.Family); ok {
		est.Burndown = v
	} else {
		est.Burndown = defaultBurndown(base, est.Family)
	}
	est.RawInputTokens = w.tokens
	factor, reserveFactor, warming := e.cal.factors(est.Family)
	est.InputTokens = int(SaturatingTokens(math.Ceil(float64(w.tokens) * factor)))
	est.reserveInput = int(SaturatingTokens(math.Ceil(float64(w.tokens) * reserveFactor)))
	if warming {
		// Until calibration has data, never assume fewer than one token per
		// 4 bytes of text: cl100k packs repetitive English into as little as
		// 0.16 tokens per byte, Claude's tokenizer and the simulator do not.
		est.InputTokens = max(est.InputTokens, (w.textB+3)/4)
		est.reserveInput = max(est.reserveInput, (w.textB+2)/3)
	}
	est.reserveInput = max(est.reserveInput, est.InputTokens)
	est.Fallback = w.fallback
	if est.Fallback {
		e.fallbacks.Add(1)
	}
	return est, w.fp
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Observation is the outcome of one calibration update, for telemetry.
type Observation struct {
	Family Family
	// Estimated is the calibrated input estimate that was used
	// (Estimate.InputTokens); Actual is Usage.PromptTokens.
	Estimated, Actual int64
	// Error is (Estimated - Actual) / Actual: positive when the estimate
	// was too high. 0 when Actual is 0.
	Error float64
	// Ratio and Samples are the family's calibration after the update.
	Ratio   float64
	Samples int
	// Used reports whether the observation entered calibration (exact,
	// fallback and tiny estimates do not).
	Used bool
}

// Observe feeds one settled call into calibration: the ratio of the prompt
// Bedrock processed (input + cache reads + cache writes, see
// [Usage.PromptTokens]) to the raw estimate. Estimates that were exact,
// fell back to bytes, or are below 16 tokens on either side are reported
// but not used. It returns the estimate error and the new calibration.
func (e *Estimator) Observe(est Estimate, actual Usage) Observation {
	o := Observation{Family: est.Family, Estimated: int64(est.InputTokens), Actual: actual.PromptTokens()}
	if o.Actual > 0 {
		o.Error = float64(o.Estimated-o.Actual) / float64(o.Actual)
	}
	if !est.Exact && !est.Fallback && est.RawInputTokens >= minCalibrationTokens && o.Actual >= minCalibrationTokens {
		o.Ratio, o.Samples = e.cal.observe(est.Family, int64(est.RawInputTokens), o.Actual)
		o.Used = true
		return o
	}
	o.Ratio, o.Samples = e.cal.get(est.Family)
	return o
}

// Calibration returns the family's current ratio of real to estimated input
// tokens (1 before any sample) and the number of samples observed.
func (e *Estimator) Calibration(family Family) (ratio float64, samples int) {
	return e.cal.get(family)
}

// EstimateContext is [Estimator.Estimate], plus exact counting: when
// [Options.CountTokens] is set and the model supports it, the input is
// counted by Bedrock's CountTokens API (once per identical request; the
// result is cached). The call runs on a context marked with
// [IsEstimatorCall] so that a guard does not guard it, and is bounded by
// [Options.CountTokensTimeout]. On any error the estimate is returned.
func (e *Estimator) EstimateContext(ctx context.Context, input any) Estimate {
	est, fp := e.estimate(input)
	if e.exact == nil || est.Operation == OpCountTokens || IsEstimatorCall(ctx) {
		return est
	}
	return e.exact.refine(ctx, e, input, est, fp)
}
