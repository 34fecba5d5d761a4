// Package middleware holds bedrockguard's smithy-go middleware for the
// Bedrock Runtime client and the event interface the guard reports through.
//
// # Placement
//
//	Initialize  EstimateID    once per operation: read the typed input, estimate its
//	                          tokens (input + max_tokens x burndown), resolve the key
//	                          (region + model or inference profile) and its quota,
//	                          tell the Observer the operation started
//	Finalize    SpillID       with spillover routes only, once per operation: runs the
//	                          retry loop again on another route when it ended with a
//	                          throttle or ModelNotReady (see route.go)
//	Finalize    [SDK "Retry"] the SDK's retry loop, with the retry policy's retryer deciding
//	Finalize    PaceID        per attempt, after "Retry" and before signing: wait for
//	                          the request and token buckets (deadline- and priority-
//	                          aware) and reserve (with spillover routes, first pick
//	                          the route: see route.go); afterwards settle the reservation to
//	                          the usage the service reported, or release it and adapt
//	                          the rate on a throttle
//	Deserialize StreamTapID   streams only, inside "OperationEventStreamDeserializer":
//	                          peek at the first frame (an exception there fails the
//	                          attempt, so it is retried), tee the response body,
//	                          decode event frames on the side, settle from the
//	                          metadata event or the last chunk's invocation metrics,
//	                          classify mid-stream exceptions, and end the operation
//	                          when the stream ends (see Streams below)
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
// an error the service answered (a throttle, a validation error, a 5xx), a
// cancellation before the request was sent, or a panic inside the stack.
// An attempt that was sent in full (net/http's WroteRequest) and then
// failed without such an answer (cancelled or timed out in flight, the
// connection lost, the response unreadable) counts as charged: it is
// settled at its reservation, because Bedrock took the reservation when it
// admitted the request and never tells a client that has gone what it
// settled. Reservations and settlements are saturating token counts
// (tokens.SaturatingTokens; max_tokens is clamped to
// tokens.MaxOutputTokens), so no request body can make one negative. A
// panic in an Observer method or the classifier is contained (see
// [Contain]): it is logged and not re-raised. A
// stream that ends without its usage (closed early by the application, cut,
// undecodable, cut by a mid-stream exception after content, or neither read
// nor closed for [Config.StreamIdleTimeout]) is settled with what was seen:
// the input estimate (Anthropic's reported input on InvokeModel streams)
// and the output seen so far, about 3 bytes a token, times the burndown.
//
// # Streams
//
// The stream tap sits inside the SDK's retry loop, closer to the transport
// than "OperationEventStreamDeserializer", and wraps the response body: it
// never replaces the SDK's reader (that would race with the SDK; see
// docs/bedrock.md#observing-a-stream-from-middleware), never blocks a read,
// and passes every byte through unchanged. It decodes the frames the SDK's
// reader has read (its own allocation-free parser, with the same CRC
// checks), and:
//
//   - settles from the metadata event (ConverseStream) or the last chunk's
//     amazon-bedrock-invocationMetrics (InvokeModelWithResponseStream);
//   - records the time to the first content event on the [Call]
//     ([Call.FirstChunk]);
//   - decodes a mid-stream exception with the SDK's own codec, so that
//     classification and [StreamError] see the same modeled error as
//     stream.Err(); a throttle is reported to the Observer and lowers the
//     adaptive rate like any other;
//   - ends the operation ([Observer.End]) when the stream ends: at the end
//     of the body, a read error, or Close, not when the SDK returns the
//     stream. The error is nil for a complete stream or an early Close by
//     the application, a [*StreamError] for an exception,
//     [ErrStreamMalformed], [ErrStreamTruncated] or [ErrStreamAbandoned].
//
// Stream peek (on when [Config.StreamPeek] is set, as the guard does by default): before the stack
// returns, the tap reads the stream up to its first content event (past
// preamble events such as messageStart). If the first frame is an
// exception, nothing has reached the application yet, so the attempt fails with a
// [*FirstFrameError] that carries the status Bedrock uses for the same
// exception outside a stream (429 for a throttle) and wraps the SDK's
// modeled error: Pace releases the reservation and adapts, and the retry
// loop retries as for an HTTP 429. If the connection fails (closed, reset)
// or the body ends first, the attempt fails with a [*StreamConnError], a
// retryable connection failure (classified Unavailable). Otherwise the
// bytes read are put back in front of the body.
//
// Pace also hands net/http a request stream that offers only Read and Seek
// (shieldBody): smithy-go's closed request body answers WriteTo with
// io.EOF, which makes net/http close a connection whose response arrived
// before its last read of the body
// (docs/bedrock.md#use-of-closed-network-connection). The cost is one copy of the first
// frame, about 3 µs of CPU per stream; on loopback the time to the first
// event was the same with and without it (BenchmarkStreamTimeToFirstEvent).
//
// # Events
//
// The guard reports through an [Observer]; [Nop] is the default and the
// otelbridge package turns the events into OpenTelemetry spans and metrics.
// Events carry counts, classes and durations, never prompt or completion
// text.
package engine
