// Package middleware names the guard's smithy-go middlewares, for users who
// compose their own Bedrock Runtime stack or place their own middleware
// relative to the guard's.
//
// Most users never import it: [github.com/bedrockguard/bedrockguard.Install]
// adds the guard to every Bedrock Runtime client made from an aws.Config,
// and [github.com/bedrockguard/bedrockguard.Guard.ClientOption] to one
// client or one call, also for a client built with custom APIOptions:
//
//	client := bedrockruntime.New(opts, guard.ClientOption())
//
// Either adds the three middlewares below and the retry policy's attempt
// middleware (a stack that already holds them is left as it is) and wraps
// the client's Retryer. Use the IDs to place your own middleware before or
// after the guard's, e.g. with stack.Finalize.Insert(m, middleware.PaceID,
// smithymiddleware.After).
//
// # Where each middleware sits
//
//   - [EstimateID], in the Initialize step (added last): estimates the
//     request's tokens and starts the operation's accounting.
//   - [PaceID], in the Finalize step right after the SDK's "Retry": paces
//     every attempt and settles or releases its reservation.
//   - [StreamTapID], in the Deserialize step right after the SDK's
//     "OperationEventStreamDeserializer" (streaming operations only): reads
//     stream usage and mid-stream exceptions without disturbing the
//     application's stream.
package middleware
