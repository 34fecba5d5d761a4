// Package bedrockguard keeps Amazon Bedrock Runtime clients inside their
// quotas.
//
// It is installed with one option on an aws.Config and inserts smithy-go
// middleware into the request stack of Bedrock Runtime clients only: it
// estimates each request's token cost, paces calls under adaptive
// requests- and tokens-per-window limits per region and model, classifies
// failures and retries them with jittered exponential backoff, and reports
// every throttle event to an [Observer] (OpenTelemetry through package
// otelbridge).
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	guard, err := bedrockguard.Install(&cfg,
//		bedrockguard.WithQuota("us.anthropic.claude-sonnet-4-5-20250929-v1:0",
//			bedrockguard.Quota{TokensPerWindow: 400_000}))
//	client := bedrockruntime.NewFromConfig(cfg) // guarded
//
// # Entry points
//
// [Install] guards every Bedrock Runtime client made from an aws.Config;
// [LoadOption] does the same as an option of config.LoadDefaultConfig; a
// [Guard] made with [New] gives [Guard.ClientOption] for one client or one
// call. Clients of other services are never touched.
//
// # Spillover
//
// [WithSpillover] gives a model alternates ([Route]: other inference
// profiles, models or Regions). A call goes to one when the guard predicts
// that it would be admitted sooner there than within its deadline or the
// route's MaxWait on the model asked for, or after the model answered a
// tokens-per-day throttle, ModelNotReady or throttles the retry policy gave
// up on. [ServedBy] tells where a call was served.
//
// # Options and errors
//
// Options are functions, validated when the guard is made: an invalid one
// makes [New], [Install] or [LoadOption] fail with an [*OptionError] that
// names the option and unwraps to the cause. Defaults: no quota (the guard
// paces a model from its first throttle on), 5 attempts per call, the
// stream peek on, an in-process pacing store, no observer.
//
// A call the guard refuses or gives up on fails with one of four typed
// errors, wrapped in the SDK's *smithy.OperationError: [*DeadlineError]
// (admission would come after the context deadline; nothing was sent),
// [*TooLargeError] (the reservation can never fit the quota; nothing was
// sent), [*BudgetError] (a tokens-per-day quota or a tenant budget cannot
// hold the reservation; nothing was sent) and [*GiveUpError] (retries
// ended). Every error message starts with "bedrockguard: ".
//
// # Tenants and budgets
//
// [WithTenant] names the tenant of a call; within one model's quota,
// tenants share by weighted fair queueing ([WithTenantPolicy] sets weights
// and per-tenant token budgets). [Quota].TokensPerDay is counted in the
// pacing store, and [Guard.State] forecasts when it runs out.
//
// # Events
//
// [Observer] has one method per event of an operation. Implementations
// embed [NopObserver], so that events added in later versions do not break
// them. Events never carry prompt or completion text.
package bedrockguard
