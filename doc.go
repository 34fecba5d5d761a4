// Package bedrockguard keeps Amazon Bedrock Runtime clients inside their quotas.
//
// It is installed with one option on an aws.Config and inserts smithy-go
// middleware into the request stack of Bedrock Runtime clients only: it
// estimates each request's token cost, paces calls under adaptive
// requests-per-minute and tokens-per-minute limits per region and model,
// classifies failures and retries them with jittered exponential backoff, and
// reports every throttle event to an observer (OpenTelemetry through the
// otelbridge package).
package bedrockguard
