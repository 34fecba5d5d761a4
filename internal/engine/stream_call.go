package engine

import "time"

// FirstChunk returns the time from the start of a streaming operation
// (Started, so pacing waits and retries included) to its first content
// event: the first contentBlockDelta of ConverseStream; for
// InvokeModelWithResponseStream the first content_block_delta chunk of an
// Anthropic model, the first chunk of other families. It is measured when
// the SDK's stream
// reader received the event, not when the application took it. ok is false
// for other operations and for streams that ended before any content.
func (c *Call) FirstChunk() (d time.Duration, ok bool) {
	v := c.firstChunk.Load()
	if v == 0 {
		return 0, false
	}
	return time.Duration(v - 1), true
}
