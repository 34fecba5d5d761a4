// Package middleware holds bedrockguard's smithy-go middleware for the
// Bedrock Runtime client and the event interface the guard reports through.
//
// # Placement
//
//	Initialize  EstimateID    once per operation: read the typed input, estimate its
//	                          tokens (input + max_tokens x burndown), resolve the key
//	                          (region + model or inference profile) and its quota,
//	                          tell the Observer the operation started
//	Finalize    [SDK "Retry"] the SDK's retry loop, with retrypolicy's retryer deciding
//	Finalize    PaceID        per attempt, after "Retry" and before signing: wait for
//	                          the request and token buckets (deadline- and priority-
//	                          aware) and reserve; afterwards settle the reservation to
//	                          the usage the service reported, or release it and adapt
//	                          the rate on a throttle
//	Deserialize StreamTapID   streams only, inside "OperationEventStreamDeserializer":
//	                          tee the response body, decode event frames on the side,
//	                          settle from the metadata event or the last chunk's
//	                          invocation metrics, classify mid-stream exceptions, and
//	                          end the operation when the stream ends
//
// The pacing wait sits before signing so that a long wait never ages the
// SigV4 signature. Only the four inference operations are paced (Converse,
// ConverseStream, InvokeModel, InvokeModelWithResponseStream); every other
// operation, and any call whose context was marked with [Skip], passes
// through. [Engine.AddTo] is idempotent.
//
// # Reservations
//
// Every admitted attempt holds a pacing.Ticket that is settled or released
// exactly once: settled with Converse's usage, InvokeModel's
// X-Amzn-Bedrock-*-Token-Count headers, or a stream's metadata; released on
// an error, a throttle, a cancellation, a panic inside the stack, or a stream
// that is neither read nor closed for [Config.StreamIdleTimeout]. A stream
// closed early is settled with the input estimate and the output seen.
//
// # Events
//
// The guard reports through an [Observer]; [Nop] is the default and the
// otelbridge package turns the events into OpenTelemetry spans and metrics.
// Events carry counts, classes and durations, never prompt or completion
// text.
package middleware
