// Package quotas discovers Amazon Bedrock's runtime quotas from the AWS
// Service Quotas API and turns them into bedrockguard options:
//
//	sq := servicequotas.NewFromConfig(cfg)
//	catalog, err := quotas.Discover(ctx, sq)
//	...
//	guard, err := bedrockguard.Install(&cfg, catalog.Options()...)
//
// The whole API is [Discover] with its options ([WithDefaults],
// [WithRegion], [WithModel]), the [Catalog] it returns ([Catalog.Options]
// to install, [Catalog.Quota] and [Catalog.For] to look an ID up, its
// [Entry] and [Unparsed] lists), and [*bedrockguard.OptionError]. Package quotastest is
// a fake Service Quotas API for tests.
//
// # What is discovered
//
// [Discover] lists the quotas of service code "bedrock" in the client's
// Region (ListServiceQuotas, every page; with [WithDefaults] also
// ListAWSDefaultServiceQuotas, whose values fill in quotas without an
// applied value). Each quota name is parsed into an [Entry]: its scope
// (on-demand, cross-region, global cross-region, or any route), its kind
// (tokens per minute, requests per minute, tokens per day), the model's
// display name and variants (" V2", "1M Context Length"). Names that do
// not parse — quotas of batch inference, provisioned throughput, model
// customization, the account-wide "Cross-Model Max Tokens Per Day", the
// bedrock-mantle input/output split — are kept in Catalog.Unparsed with a
// reason, never an error. The Service Quotas API throttles its callers
// (TooManyRequestsException); Discover backs off and retries for up to
// 51 s, within the context's deadline. A catalog is a snapshot: call
// Discover again (an hour apart is plenty) to see an increase, and install
// a new guard with it. The IAM permission needed is
// servicequotas:ListServiceQuotas (and
// servicequotas:ListAWSDefaultServiceQuotas with WithDefaults).
//
// # Name grammar
//
// Names are matched case-insensitively, with hyphens and spaces
// interchangeable and runs of spaces collapsed:
//
//	name    = [scope] api [ "max" ] kind "for" model { variant } [ "(" note ")" ]
//	scope   = "On-demand" | "Cross-region" | "Global cross-Region"
//	api     = "InvokeModel" | "model inference" | "model invocation" | …
//	kind    = "tokens per minute" | "requests per minute" | "tokens per day"
//	variant = "V" digits | digits ("K" | "M") "Context" [ "Length" ]
//
// so all of these parse:
//
//	On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku
//	Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4
//	Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length
//	Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1
//	Model invocation max tokens per day for Anthropic Claude Sonnet 4.5 V1
//	On-demand model inference requests per minute for Mistral AI Mistral Large (24.07)
//
// A parenthetical that is a release number ("(24.07)") stays in the model
// name; another one becomes Entry.Note. A name with no scope (the
// documented "Model invocation max tokens per day for M") gets scope "any".
//
// # Mapping to model IDs
//
// The display name is looked up in a built-in table of known models
// (Anthropic Claude 3 to 4.5, Amazon Nova and Titan, Meta Llama 3 to 4,
// Mistral, Cohere), extendable with [WithModel]. Lookup normalizes both
// sides: lower case, punctuation dropped ("Command R+" reads "command r
// plus"), provider names and "Instruct" dropped, words sorted (so "Claude
// 3.7 Sonnet" and "Claude Sonnet 3.7" match). The version suffix tells
// models apart: "Claude 3.5 Sonnet" and "… V1" are the June 2024 model,
// "… V2" the October 2024 one. A name not in the table is kept in
// Catalog.Entries with an empty ModelID and no IDs, after the mapped ones.
//
// The scope decides the IDs a quota applies to:
//
//   - on-demand: the bare model ID, e.g. anthropic.claude-3-5-haiku-20241022-v1:0;
//   - cross-region: the geographic inference profiles callable from the
//     Region (us. from us-* and ca-*, eu. from eu-*, apac. from ap-*, plus
//     jp. or au. where they exist; us., eu. and apac. when the Region is
//     unknown; see [WithRegion]);
//   - global cross-region: the global. profile;
//   - any route: all of the above.
//
// [Catalog.Quota] combines the tokens-per-minute, requests-per-minute and
// tokens-per-day quotas of one ID into a bedrockguard.Quota (two quotas of
// one kind on one ID combine to the smaller), and [Catalog.Options] gives
// one bedrockguard.WithQuota per ID.
//
// # Caveats
//
//   - Quota names are not stable: AWS has changed capitalization, wording
//     ("InvokeModel" and "model inference") and suffixes (" V1") over
//     time, and quota codes are not documented. Check Catalog.Unparsed and
//     the entries without a ModelID after discovery (the CLI's
//     "bedrockguard quotas" prints both) and extend the table with
//     [WithModel].
//   - Cross-region (CRIS) quotas are accounted in the source Region, the
//     one you call, not where the model runs, and global CRIS has its own
//     pool: discover in each Region your application calls from.
//   - Bedrock removed requests-per-minute quotas from bedrock-runtime in
//     2026 (only token quotas throttle). Accounts that still list an RPM
//     quota get it as Quota.RequestsPerWindow, which the guard then
//     enforces as a safety cap; override it with your own WithQuota after
//     the catalog's options if it is stale.
//   - Context-length variants ("1M Context Length") have quotas of their
//     own, but the guard keys pacing by model ID only, so they are listed
//     and not installed. A quota of zero is not installed either (zero
//     means "no limit" to the guard).
//   - Values are the Region's account-level quotas; they say nothing about
//     what other applications of the account already use.
//
// Bedrock's quota rules this relies on, with AWS's sources, are in
// docs/bedrock.md ("Quotas") in the repository.
package quotas
