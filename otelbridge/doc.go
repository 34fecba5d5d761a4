// Package otelbridge reports bedrockguard's events as OpenTelemetry spans
// and metrics. It is the only package of the module that imports
// OpenTelemetry: the guard emits through bedrockguard.Observer (a no-op by
// default), and a [Bridge] implements it.
//
//	bridge, err := otelbridge.New() // global providers; or WithTracerProvider / WithMeterProvider
//	if err != nil { ... }
//	guard, err := bedrockguard.Install(&cfg, bridge.Option()) // = bedrockguard.WithObserver(bridge.Observer())
//	client := bedrockruntime.NewFromConfig(cfg)
//
// Instruments are created once, in [New]. Attribute keys are declared as
// constants in this package (the names are listed below and in README.md), since the otel semconv packages
// from v1.42 dropped the GenAI keys. The GenAI conventions are at
// Development status; names follow the latest published ones.
//
// [WithAttributes] adds constant attributes to every metric data point and
// span, to tell apart bridges that report the same models (the demo labels
// its two phases with bedrockguard.mode="unguarded" or "guarded").
//
// # Spans
//
// One CLIENT span per guarded operation (Converse, ConverseStream,
// InvokeModel, InvokeModelWithResponseStream), named
// "{gen_ai.operation.name} {gen_ai.request.model}", e.g.
// "chat anthropic.claude-3-5-haiku-20241022-v1:0". gen_ai.operation.name is
// "chat" for Converse and for the messages-style InvokeModel bodies
// (Anthropic, Nova, Cohere), else "text_completion". Attributes:
// gen_ai.operation.name, gen_ai.provider.name ("aws.bedrock"),
// gen_ai.request.model, gen_ai.request.max_tokens (as reserved: the
// request's or the model's default), gen_ai.request.stream, cloud.region;
// once known gen_ai.usage.input_tokens (cache reads and writes included),
// gen_ai.usage.output_tokens, gen_ai.usage.cache_read.input_tokens,
// gen_ai.usage.cache_creation.input_tokens, gen_ai.response.finish_reasons
// (Converse and ConverseStream), gen_ai.response.time_to_first_chunk (streams, seconds),
// aws.request_id (of the last attempt), aws.bedrock.attempts,
// gen_ai.response.model (the model ID that served the call: the one asked
// for, or a spillover route's); for a call a spillover route served,
// aws.bedrock.spillover.reason and aws.bedrock.route.region; on failure
// error.type (the service's error code, e.g. "ThrottlingException", or
// "PacingRejected", or the guard's class name when there is no code) and
// status Error with error.type as its description. A stream's span ends
// when the stream ends.
//
// Children: a "pacing wait" span for every wait for the buckets that was not
// instant (aws.bedrock.attempt, aws.bedrock.priority,
// aws.bedrock.tokens.reserved), and an "attempt" span for every attempt
// after the first (http.request.resend_count, aws.bedrock.attempt,
// aws.request_id, error.type).
//
// Events on the operation span: "aws.bedrock.throttle" once per throttle,
// with aws.bedrock.throttle.kind, aws.bedrock.throttle.stage ("response" or
// "mid_stream"), error.type, aws.bedrock.attempt, aws.bedrock.retried,
// aws.bedrock.retry.delay (the backoff chosen, seconds; 0 when not
// retried), aws.bedrock.tokens.estimated (input estimate),
// aws.bedrock.tokens.reserved (what the attempt had reserved) and
// aws.bedrock.pacing.rate_lowered; "aws.bedrock.pacing.rejected" when
// pacing refused an attempt (aws.bedrock.pacing.reason).
//
// # With the SDK's own tracing
//
// When the client's TracerProvider (smithy-go's OpenTelemetry adapter) is
// on, the SDK already starts an operation span "Bedrock Runtime.<Op>" and
// one "Attempt" span per attempt. The bridge then adds no span of its own
// for the operation or the attempts: it renames the SDK's operation span to
// the GenAI name and adds the attributes and events above to it, so there
// is one operation span either way. Limitation: the SDK ends its span when
// ConverseStream or InvokeModelWithResponseStream returns, so for streams
// the data known only at the stream's end (usage, finish reason, a
// mid-stream throttle's event) reaches the metrics but not that span.
//
// # Metrics
//
// Prometheus names are those of the OTel Prometheus exporter (dots to
// underscores, unit suffix, _total for counters; histograms add _bucket,
// _sum and _count). Attribute names become labels the same way
// (gen_ai.request.model → gen_ai_request_model). "Base" below is
// gen_ai.operation.name, gen_ai.provider.name, gen_ai.request.model and
// cloud.region.
//
//	OTel name                                     Prometheus name                                       Instrument      Unit       Attributes                                   Meaning
//	gen_ai.client.token.usage                     gen_ai_client_token_usage                             histogram       {token}    base, gen_ai.token.type (input|output)       tokens per operation as the service reported them (input includes cache reads and writes)
//	gen_ai.client.operation.duration              gen_ai_client_operation_duration_seconds              histogram       s          base, error.type (on failure)                operation time, pacing and retries included; streams until the stream ends
//	gen_ai.client.operation.time_to_first_chunk   gen_ai_client_operation_time_to_first_chunk_seconds   histogram       s          base, error.type (on failure)                streams: start of the operation to the first content event
//	aws.bedrock.throttles                         aws_bedrock_throttles_total                           counter         {throttle} base, aws.bedrock.throttle.kind, .stage      every throttle Bedrock returned, mid-stream ones included
//	aws.bedrock.retries                           aws_bedrock_retries_total                             counter         {retry}    base, error.type                             retries the retry policy scheduled, by the error retried
//	aws.bedrock.retry_budget.exhausted            aws_bedrock_retry_budget_exhausted_total              counter         {retry}    base, error.type                             retries refused because the shared retry budget was empty
//	aws.bedrock.pacing.wait                       aws_bedrock_pacing_wait_seconds                       histogram       s          base, aws.bedrock.priority                   wait of every admitted attempt (le="0": admitted at once)
//	aws.bedrock.pacing.rejected                   aws_bedrock_pacing_rejected_total                     counter         {request}  base, aws.bedrock.priority, .pacing.reason   attempts pacing refused: deadline, too_large, budget, canceled
//	aws.bedrock.pacing.rate                       aws_bedrock_pacing_rate_per_min                       gauge (async)   1/min      aws.bedrock.pacing.limit, model, region, aws.bedrock.quota.source (configured/discovered/learned)  current adaptive rate per key, requests or tokens per minute; only limits being paced
//	aws.bedrock.pacing.store_errors               aws_bedrock_pacing_store_errors_total                 counter (async) {error}    (WithAttributes only)                        store calls that failed (shared store down) and were served by local pacing
//	aws.bedrock.tokens.reserved                   aws_bedrock_tokens_reserved_total                     counter         {token}    base                                         tokens reserved at admission (input estimate + max tokens x burndown), per attempt
//	aws.bedrock.tokens.settled                    aws_bedrock_tokens_settled_total                      counter         {token}    base                                         tokens settled with reported usage (input + cache writes + output x burndown)
//	aws.bedrock.tokens.estimate_ratio             aws_bedrock_tokens_estimate_ratio                     histogram       1          base                                         estimated / reported input tokens (1 is exact; above 1 over-estimates)
//	aws.bedrock.pacing.quota                      aws_bedrock_pacing_quota_per_min                      gauge (async)   1/min      as aws.bedrock.pacing.rate                   quota the key is paced against, requests or tokens per minute: configured or discovered (absent while learned)
//	aws.bedrock.attempts                          aws_bedrock_attempts                                  histogram       {attempt}  base, error.type (on failure)                attempts per operation, the first included
//	aws.bedrock.request.max_tokens                aws_bedrock_request_max_tokens                        histogram       {token}    base                                         output tokens each operation reserved (max_tokens, or the model's default)
//	aws.bedrock.tokens_per_day.remaining          aws_bedrock_tokens_per_day_remaining                  gauge (async)   {token}    model, region                                tokens left of the key's tokens-per-day quota as counted; only keys with Quota.TokensPerDay
//	aws.bedrock.tokens_per_day.exhaustion         aws_bedrock_tokens_per_day_exhaustion_seconds         gauge (async)   s          model, region                                forecast time until that quota runs out at the current rate; absent while not falling
//	aws.bedrock.cost.usd                          aws_bedrock_cost_usd_total                            counter (float) {USD}      base, aws.bedrock.tenant (WithTenantAttribute) what the calls cost in USD, from reported usage; only with WithPrices
//	aws.bedrock.spillover                         aws_bedrock_spillover_total                           counter         {call}     base, aws.bedrock.spillover.reason, gen_ai.response.model, aws.bedrock.route.region  operations a spillover route served, by reason (deadline, max_wait, tokens_per_day, model_not_ready, throttled)
//
// Buckets (advised; a View can replace them): the GenAI ones of the
// semantic conventions for token usage ([1, 4, 16, ... 67108864]) and the
// durations ([0.01, 0.02, ... 81.92] s); pacing wait [0, 0.01, 0.05, 0.1,
// 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80] s; estimate ratio [0.5, 0.75, 0.9,
// 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 4]; attempts [1, 2, 3, 4, 5, 6, 8, 10,
// 15, 20]; max_tokens [16, 64, 128, 256, ... 131072].
//
// # Cost and tenants
//
// [WithPrices] gives a [Price] per model ID (USD per 1,000 input, output,
// cache-read and cache-write tokens); the bridge then counts
// aws.bedrock.cost.usd from the usage Bedrock reports. It ships no prices:
// they vary by Region and over time, so the application supplies them
// from the Amazon Bedrock pricing page. [WithTenantAttribute] adds the
// caller's tenant to the cost counter, for at most a given number of
// tenants (the rest count as "other"); tenant IDs appear nowhere else.
//
// Metric attributes are bounded: model IDs, regions and enums; never
// request IDs or text. Pacing wait is not split by limit: the limiter does
// not say which bucket held an attempt back.
//
// # From a dashboard to the traces
//
// Synchronous measurements are recorded with the operation's context, so
// the OTel SDK's default trace-based exemplar filter attaches the trace and
// span IDs of a sampled operation to the throttle, retry, duration and
// token data points; the Prometheus exporter exposes them as OpenMetrics
// exemplars, and a throttle spike links to the traces that caused it.
//
// # Content
//
// The bridge never records prompt or completion text, nor error messages
// (which may echo a request): the guard's events carry counts, classes,
// codes and durations only. Opt-in capture of gen_ai.input.messages and
// gen_ai.output.messages is not offered yet.
package otelbridge
