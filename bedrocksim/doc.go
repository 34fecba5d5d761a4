// Package bedrocksim is a local Amazon Bedrock Runtime simulator: an
// http.Handler that the real bedrockruntime client, pointed at it with
// BaseEndpoint and static credentials, cannot tell apart from Bedrock for
// Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream and
// CountTokens. It enforces per-key quotas the way Bedrock does, injects
// faults on demand and counts everything it sees. It is deterministic: the
// same seed and the same calls give the same answers.
//
// # Wire shapes
//
// Requests are POST /model/{modelId}/{converse|converse-stream|invoke|
// invoke-with-response-stream|count-tokens}. Answers have Bedrock's shapes
// (docs/bedrock.md#operations, docs/bedrock.md#error-responses and
// docs/bedrock.md#event-stream-framing):
//
//   - errors carry X-Amzn-ErrorType "<Code>:http://internal.amazon.com/coral/com.amazon.bedrock/",
//     x-amzn-RequestId and a {"message": ...} body: ThrottlingException and
//     ModelNotReadyException (429), ServiceUnavailableException (503),
//     ValidationException (400: malformed JSON, an unknown model identifier,
//     the bare ID of a profile-only model, empty messages, max tokens above
//     the model limit, input too long, body over 20 MiB);
//   - Converse answers output.message, stopReason, usage and metrics;
//   - InvokeModel answers the family's body (Anthropic Messages, Nova,
//     Titan Text, Llama, Mistral, Cohere Command R) plus the
//     X-Amzn-Bedrock-Input-Token-Count, -Output-Token-Count,
//     -Invocation-Latency (and cache) headers;
//   - streams are application/vnd.amazon.eventstream frames encoded with
//     aws/protocol/eventstream. ConverseStream sends messageStart,
//     contentBlockDelta..., contentBlockStop, messageStop, metadata (usage,
//     metrics). InvokeModelWithResponseStream sends chunk events whose
//     base64 bytes are the family's streaming JSON; the last one carries
//     "amazon-bedrock-invocationMetrics". The 200 headers go out together
//     with the first frame, no sooner than 5 ms after the request whatever
//     the latency settings (docs/bedrock.md#use-of-closed-network-connection).
//
// # Models
//
// The simulator serves a fixed list of Anthropic Claude, Amazon Nova and
// Titan Text, Meta Llama, Mistral and Cohere Command R models, and accepts
// exactly the identifiers Bedrock accepts for them: the model ID with its
// version suffix, its cross-Region inference profile IDs ("us.", "eu.",
// "apac.", "global." ... prefixes) and the ARNs of both. Anything else (a
// misspelling, a missing ":0", an unknown prefix) gets Bedrock's answer, a
// 400 ValidationException "The provided model identifier is invalid."
// (docs/bedrock.md#model-identifiers). Models Bedrock serves only through
// inference profiles (Claude 3.7 Sonnet, Claude Sonnet 4 and 4.5, Claude
// Opus 4, 4.1 and 4.5, Claude Haiku 4.5, Nova Premier, Llama 3.2) are
// reached through their profile IDs or ARNs: their bare model ID gets
// Bedrock's 400 ValidationException "Invocation of model ID ... with
// on-demand throughput isn't supported. ...", except on CountTokens.
//
// # Tokens
//
// Input tokens follow the simulator's own deterministic rule, which is
// deliberately not any real tokenizer, so clients calibrate against the
// simulator the way they would against Bedrock. In every text field (tool
// specs, system, messages), ASCII bytes count one token per 4 bytes,
// rounded up over the text; Han, Hiragana, Katakana and Hangul characters
// count one token each; any other non-ASCII character counts half a token,
// rounded up over the text. Base64 payloads (images, documents) count one
// token per 1000 characters, at least one. Each message, a non-empty system
// prompt and the single prompt of text-completion bodies add 3 tokens. So
// a Converse call with one user message "Hello, Bedrock" (14 ASCII bytes)
// counts 4 + 3 = 7 input tokens.
//
// Output length is drawn from the seed and the prompt (uniform in
// [1, min(max tokens, 1024)]) unless [WithOutputFraction] decides it.
// The output text is made of 4-byte ASCII words, so an output of n tokens
// counts n tokens by the rule above. A prefix before a cachePoint block (or
// an Anthropic cache_control marker) is a cache write the first time a key
// sees it and a cache read within the next 5 minutes.
//
// # Quotas
//
// Each key (model ID or inference-profile ID as sent) is limited by its
// [Quota] (from [WithQuota], else [WithDefaultQuota]) through three
// buckets, requests, tokens and tokens per day, each holding one period of
// quota and refilled continuously, where a period is the window
// ([WithWindow], default one minute) and a day is 1440 windows. Admission
// reserves input + max tokens (the model's output limit when the request
// sets none); a reservation that can never fit gets the tokens throttle.
// Completion settles to input + cache write + output x burndown, where
// burndown is 5 for Claude 3.7 Sonnet, Sonnet 4/4.5, Haiku 4.5 and Opus
// 4/4.1/4.5 and 1 otherwise, and refunds the rest
// (docs/bedrock.md#reservation-burndown-and-settlement).
// Throttles are 429 ThrottlingException with Bedrock's messages
// (docs/bedrock.md#throttling-messages): "Too many requests, please wait before trying
// again." (in its long form, unless the simulator runs as
// "bedrockguard sim -short-requests-message"), "Too many tokens, please
// wait before trying again." or "Too many tokens per day, please wait
// before trying again.". CountTokens is free and never throttled.
//
// # Faults
//
// [Faults] sets 503s, ModelNotReady periods, mid-stream throttlingException
// frames (first frame or after N events), a quota drop to a fraction at a
// given time, slow headers and connection resets. Each fault has a
// [Trigger]: the next N calls, every call until a time, or a rate drawn
// deterministically from the seed. Set them with [WithFaults] or at run
// time with [Server.SetFaults].
//
// # Options
//
// [New] takes functional options ([WithWindow], [WithDefaultQuota],
// [WithQuota], [WithLatency], [WithOutputFraction],
// [WithFaults]); without any, a Server has one-minute windows, no quotas,
// no latency, no faults and seed 0. New and [Server.SetFaults] check their
// arguments and return a [*bedrockguard.OptionError], naming the first invalid option
// (and field, prefixed "bedrocksim."), for a negative duration or limit, a window that is not
// positive, or a fraction or rate outside [0, 1].
//
// # Time
//
// Quotas, fault windows (Trigger.Until, Faults.QuotaDropAt), the prompt
// cache and the timeline run on the time package's clock; there is
// no clock to inject. Tests that need to move time run the simulator and
// its client inside a testing/synctest bubble (over an in-memory
// connection, since goroutines blocked on real network I/O keep the
// bubble's clock from advancing).
//
// # Stats
//
// [Server.Stats] (and GET /_sim/stats as JSON) reports per-key counters —
// requests, accepted, throttled by kind, errors by type, tokens reserved,
// charged and refunded, input and output tokens — and a per-second
// timeline. Every request is counted, whatever happens to it.
//
// # Example
//
//	sim, _ := bedrocksim.New(
//		bedrocksim.WithDefaultQuota(bedrocksim.Quota{TokensPerWindow: 200_000}),
//		bedrocksim.WithWindow(time.Minute),
//	)
//	url, _ := sim.Start("127.0.0.1:0")
//	defer sim.Close()
//	client := bedrockruntime.NewFromConfig(bedrocksim.Config(url))
//	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{...})
package bedrocksim
