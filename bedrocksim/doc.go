// Package bedrocksim is a local Amazon Bedrock Runtime simulator: an
// http.Handler that the real bedrockruntime client, pointed at it with
// BaseEndpoint and static credentials, cannot tell apart from Bedrock for
// Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream and
// CountTokens. It enforces per-key quotas the way Bedrock does, injects
// faults on demand and counts everything it sees. It is deterministic: the
// same Options.Seed and the same calls give the same answers.
//
// # Wire shapes
//
// Requests are POST /model/{modelId}/{converse|converse-stream|invoke|
// invoke-with-response-stream|count-tokens}. Answers follow bedrock-facts:
//
//   - errors carry X-Amzn-ErrorType "<Code>:http://internal.amazon.com/coral/com.amazon.bedrock/",
//     x-amzn-RequestId and a {"message": ...} body: ThrottlingException and
//     ModelNotReadyException (429), ServiceUnavailableException (503),
//     ValidationException (400: malformed JSON, unknown model, empty
//     messages, max tokens above the model limit, input too long, body over
//     Options.MaxBodyBytes);
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
//     with the first frame.
//
// # Tokens
//
// Input tokens follow the simulator's own rule, [InputTokens], applied to
// every text field (tool specs, system, messages); base64 payloads count one
// token per [BinaryBytesPerToken] characters; each message, a non-empty
// system prompt and the single prompt of text-completion bodies add
// [MessageOverhead]. So a Converse call with one user text message t counts
// InputTokens(t) + MessageOverhead.
//
// Output length is drawn from the seed and the prompt (uniform in
// [1, min(max tokens, DefaultOutputCap)]) unless Options.Output or
// Options.OutputFraction decide it. The output text is made of 4-byte
// words, so InputTokens of an output of n tokens is n. A prefix before a
// cachePoint block (or an Anthropic cache_control marker) is a cache write
// the first time a key sees it and a cache read within Options.CacheTTL.
//
// # Quotas
//
// Each key (model ID or inference-profile ID as sent) has a [Ledger] with a
// requests bucket, a tokens bucket and a tokens-per-day bucket, each holding
// one period of quota and refilled continuously; a day is [DayWindows]
// windows. Admission reserves input + max tokens (the model's
// [Model.MaxOutput] when unset); a reservation that can never fit gets the
// tokens throttle. Completion settles to input + cache write +
// output x [Model.Burndown] (5 for Claude 3.7 Sonnet, Sonnet 4/4.5, Haiku
// 4.5, Opus 4/4.1/4.5) and refunds the rest. Throttles are 429
// ThrottlingException with [MsgTooManyRequests] (or
// [MsgTooManyRequestsShort]), [MsgTooManyTokens] or [MsgTooManyTokensPerDay].
// CountTokens is free and never throttled.
//
// # Faults
//
// [Faults] sets 503s, ModelNotReady periods, mid-stream throttlingException
// frames (first frame or after N events), a quota drop to a fraction at a
// given time, slow headers and connection resets. Each fault has a
// [Trigger]: the next N calls, every call until a time, or a rate drawn
// deterministically from the seed. Set them in Options.Faults or at run
// time with [Server.SetFaults].
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
//	sim, _ := bedrocksim.New(bedrocksim.Options{
//		DefaultQuota: bedrocksim.Quota{TokensPerMinute: 200_000},
//		Window:       time.Minute,
//	})
//	url, _ := sim.Start("127.0.0.1:0")
//	defer sim.Close()
//	client := bedrockruntime.NewFromConfig(bedrocksim.Config(url))
//	out, err := client.Converse(ctx, &bedrockruntime.ConverseInput{...})
package bedrocksim
