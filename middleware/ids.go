package middleware

// IDs of the guard's middlewares in a smithy-go stack.
const (
	// EstimateID is the Initialize middleware that estimates the request's
	// tokens and starts the operation.
	EstimateID = "bedrockguard.Estimate"
	// PaceID is the Finalize middleware, right after the SDK's "Retry", that
	// paces every attempt and settles or releases its reservation.
	PaceID = "bedrockguard.Pace"
	// StreamTapID is the Deserialize middleware, inside
	// "OperationEventStreamDeserializer", that reads stream usage and
	// mid-stream exceptions without disturbing the application's stream.
	StreamTapID = "bedrockguard.StreamTap"
)
