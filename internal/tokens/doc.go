// Package tokens estimates what a Bedrock Runtime call will charge against
// its model's tokens-per-minute quota, settles the real cost from the usage
// Bedrock reports, and calibrates the estimate online.
//
// An [Estimator] (one per guard, safe for concurrent use) reads the typed
// operation input — *bedrockruntime.ConverseInput, ConverseStreamInput,
// InvokeModelInput, InvokeModelWithResponseStreamInput or CountTokensInput —
// and returns an [Estimate]. [Estimate.ReserveTokens] is what admission
// charges (input + max_tokens x burndown); [Usage.SettledTokens] is what the
// call finally costs (input + cache writes + output x burndown). It never
// fails and never logs or returns prompt text.
//
// # How counting works
//
// Converse inputs are walked block by block: system prompts, messages, tool
// configuration (name, description and the JSON schema as compact JSON),
// tool use (its JSON input) and tool results, documents, images, video,
// audio, reasoning content, guard content, citations and search results.
// Cache points add nothing. Each request adds 3 tokens and each message 4
// for role markers; calibration absorbs the difference to a model's template.
// InvokeModel bodies are parsed by the family's schema (see Families); a
// body that is not JSON, lacks the family's shape or exceeds 32 MiB is
// estimated from its bytes with [HeuristicTokens], Fallback is set and
// [Stats].UnparseableBodies counts it.
//
// Text goes through the [Tokenizer] ([Default]: cl100k_base from
// github.com/pkoukk/tiktoken-go with the offline loader; nothing is
// downloaded). Every text block is hashed with hash/maphash and its count
// cached (a sharded two-generation map, [Options.CacheSize] entries), so the
// history a chat resends every turn is counted once.
//
// Images: Anthropic's rule, tokens = width x height / 750 after scaling the
// long edge to 1568 px, at most 1,600 (docs.anthropic.com, "Vision"), also
// used for Llama and Pixtral; Nova: width x height / 500, at most 2,600 (a
// conservative fit to the Nova user guide's table). Dimensions come from the
// image header; the pixels are never decoded. Unknown dimensions (S3
// sources) count as the maximum. Documents: text formats are counted as
// text, PDFs at 1,500 tokens per page (Anthropic "PDF support": 1,500-3,000
// per page), office formats at bytes / 4. Video counts 10,000 and audio
// 2,000 tokens: no documented rule can be applied without decoding them.
// With tools, Claude models add Anthropic's tool-use system prompt (346
// tokens, 313 with tool_choice any/tool).
//
// # Bounds
//
// Measured on 2 cores (AMD EPYC, Go 1.26), tiktoken-go encodes at only 1-8
// MB/s, with ~6 allocations per token, and its BPE merge is quadratic in one
// regex piece (64 KB of spaces: ~1.6 s; 1 MB of one letter: 12.8 min). So:
//
//   - [Default] builds the encoder once, lazily (~110 ms, ~23 MB allocated),
//     calling SetBpeLoader exactly once before, and shares it.
//   - It cuts runs of one character class longer than 128 bytes before the
//     merge, and counts runs of one repeated character arithmetically from
//     one 128-byte chunk, so its cost is linear on any input.
//   - An estimate hands the tokenizer at most [Options.MaxTokenizeBytes]
//     (48 KiB) of text. A block over 32 KiB is extrapolated from four 2 KiB
//     samples (the densest sample's tokens per byte); blocks beyond the
//     budget use [HeuristicTokens] and are not cached, so a later turn counts
//     them exactly. Either way Fallback is set.
//
// go test -bench . -benchmem ./tokens/ (2 vCPU, median of the run):
//
//	input                                   cold           cached
//	prose / code / json / cjk, 1 KB          0.13-1.0 ms    0.3-0.5 us
//	prose / code / json / cjk, 32 KB         5-20 ms        3.5-5.5 us
//	prose / code / json / cjk, 1 MB          1.2-3.3 ms     110-125 us (hashing)
//	1 MB adversarial (spaces, one letter,    0.2-0.3 ms     110-170 us
//	  newlines, one CJK character)
//	1 MB of "abc...z" repeated               2.9 ms         150 us
//	1 MB Anthropic InvokeModel body (JSON)   21-28 ms       13-20 ms (json.Unmarshal)
//	100-block chat history (500 B blocks)    10 ms          6.5-9.5 us, 0 allocs
//
// The bounded tokenizer alone on 1 MB: 1-3 ms for one repeated character,
// ~200 ms for 1 MB of mixed letters without spaces (linear; unguarded it
// does not finish). TestAdversarialInputsCannotStall pins a generous 5 s
// bound for six 1 MB adversarial inputs, each estimated as a block and as
// an InvokeModel body and counted by the bare tokenizer.
//
// InvokeModel bodies of every family, 1 MB of any shape, estimate in at
// most 50 ms cold (BenchmarkFamilyShapes, BenchmarkEstimateAdversarialShapes;
// 2 vCPU shared with other builds, 1-40 ms): long strings, one repeated
// character, escapes, invalid UTF-8, many tiny blocks or images, nesting
// up to and past encoding/json's limit of 10,000, many keys, duplicate
// keys, numbers of 1 MB. Anthropic bodies and the generic chat schema
// (Llama, Mistral, AI21, OpenAI and other providers) are read in one pass
// (fastAnthropic, fastGeneric) into exactly what encoding/json would
// decode; a body either reader refuses (odd key case, escaped or duplicate
// keys, wrong types, nesting near the limit) takes encoding/json, and the
// fuzz targets FuzzFastAnthropic and FuzzFastGeneric check that both paths
// count every body alike. Nova, Titan and Cohere bodies go through
// encoding/json (linear, under 40 ms). A body that is not valid JSON is
// estimated from its bytes; the one-pass readers recognise a syntax error
// themselves, so such a body costs no pass through encoding/json. Image dimensions come from a header parser
// per format, with no allocation. A Converse tool input (a document) of
// more than 4,096 values is estimated from its strings in one pass
// instead of being marshalled (the SDK's encoder sorts every map's keys by
// reflection: 200 ms for a 1 MB object of 80,000 keys, 10-15 ms now).
//
// # Families
//
// [FamilyOf] strips an ARN and a cross-region prefix (us., eu., apac.,
// global., ...) and maps the provider prefix to a [Family]. When a request
// sets no max_tokens, Bedrock reserves the model's default; the table below
// is used (refined per model, overridable with [Options.DefaultMaxTokens]):
//
//	family     body shape                               max-tokens field               default
//	anthropic  messages, system, tools / legacy prompt  max_tokens, max_tokens_to_sample  64000 (Opus 4/4.1: 32000, 3.5: 8192, 3/v2: 4096)
//	nova       messages-v1: system, messages, toolConfig inferenceConfig.max_new_tokens | maxTokens  10000 (Premier 32000, Nova 2: 65535)
//	titan      inputText                                textGenerationConfig.maxTokenCount  512 (embeddings: 0)
//	llama      prompt, images                           max_gen_len                    512
//	mistral    prompt | messages                        max_tokens                     512 (Large, Pixtral: 8192)
//	cohere     message, chat_history, preamble, documents, tools | prompt | texts  max_tokens  4000 (embed: 0)
//	unknown    prompt | inputText | messages (OpenAI style)  max_tokens, max_completion_tokens, ...  8192
//
// Converse uses inferenceConfig.maxTokens for every family. A negative
// max_tokens is ignored (the default applies), one above [MaxOutputTokens]
// (1,048,576; no model generates that much in one call) is clamped to it,
// and a value that is not a JSON integer in int64 range makes the body
// unparseable (estimated from its bytes, with the default). The
// reservation, [Estimate.ReserveTokens], and the settlement,
// [Usage.SettledTokens], are computed in floating point and saturate in
// [0, MaxReserveTokens] ([SaturatingTokens]): no body or reported usage can
// make either negative or wrap it around.
//
// # Burndown
//
// Output tokens count burndown times against the quota ("How tokens are
// counted in Amazon Bedrock"; AWS's sample quota dashboard):
//
//	Claude 3.7 Sonnet, Sonnet 4/4.5, Haiku 4.5, Opus 4/4.1/4.5   5
//	(and any newer Claude model, conservatively)
//	Claude 3, 3.5, 2.x, Instant; every other family              1
//
// [Options.Burndown] overrides by model ID or family.
//
// # Calibration
//
// Bedrock's usage.inputTokens excludes prompt-cache reads and writes, which
// are reported separately. The estimate predicts the whole prompt, so
// calibration compares it with input + cache reads + cache writes
// ([Usage.PromptTokens]); settlement still charges input + cache writes.
// For each settled call, [Estimator.Observe] adds r = actual / raw estimate,
// clamped to [0.25, 4], to a per-family window of the last 64 samples (as
// log r). The ratio in force is exp(median), so a few outliers (a call with
// an unusual image, a mis-parsed body) do not move it, and it follows drift
// within a window. Until a family has 3 samples, estimates carry a 30 %
// margin (x max(ratio, 1) x 1.3) and are at least one token per 4 bytes of
// text. Fallback, exact and tiny (< 16 tokens)
// estimates are not used. Observe returns the estimate's relative error and
// the new ratio; [Estimator.Calibration] reports the ratio and sample count.
//
// One ratio per family cannot fix a tokenizer difference that depends on
// the kind of text: against bedrocksim's rule (ASCII bytes / 4) cl100k's
// ratio is ~1.6 for prose and ~0.9 for Go code. The median error converges
// to ~1 % on a prose-dominated mix, but code-only calls are then
// overestimated (up to 2x), which errs on the safe side.
//
// With [Options.CountTokens], [Estimator.EstimateContext] asks Bedrock's
// CountTokens API for the exact count for models that support it
// ([SupportsCountTokens]), under the base model ID, once per identical
// request (cached by a fingerprint of the whole request), on a context
// marked by [WithEstimatorCall] so that a guard skips it, with a timeout;
// on any error the estimate stands.
//
// # Plugging a tokenizer
//
// Set [Options.Tokenizer] to any [Tokenizer] (or a [TokenizerFunc]), e.g.
// an o200k counter or a model's own tokenizer. It must be safe for
// concurrent use. The estimator's budget, caching, sampling and calibration
// apply to it unchanged, so even a slow tokenizer sees at most
// MaxTokenizeBytes per estimate.
package tokens
