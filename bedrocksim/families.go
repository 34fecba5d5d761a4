package bedrocksim

import "strings"

// This file holds the InvokeModel request and response bodies of each model
// family (docs/bedrock.md#operations, docs/bedrock.md#token-usage-in-responses).

// parseInvoke reads an InvokeModel body of family f.
func parseInvoke(f modelFamily, body []byte) (prompt, *apiError) {
	m, err := decodeObject(body)
	if err != nil {
		return prompt{}, err
	}
	c := newCounter()
	var maxPath []string
	switch f {
	case familyAnthropic:
		if m["max_tokens"] == nil {
			return prompt{}, malformed("#: required key [max_tokens] not found")
		}
		c.value("", m["tools"])
		c.system(m["system"])
		if err := c.messages(m["messages"]); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"max_tokens"}
	case familyNova:
		if tc, ok := m["toolConfig"].(map[string]any); ok {
			c.value("", tc["tools"])
		}
		c.system(m["system"])
		if err := c.messages(m["messages"]); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"inferenceConfig", "max_new_tokens"}
	case familyTitan:
		if err := c.single(m, "inputText"); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"textGenerationConfig", "maxTokenCount"}
	case familyLlama:
		if err := c.single(m, "prompt"); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"max_gen_len"}
	case familyMistral:
		if err := c.single(m, "prompt"); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"max_tokens"}
	case familyCohere:
		for _, turn := range asList(m["chat_history"]) {
			t, _ := turn.(map[string]any)
			c.tokens += messageOverhead
			c.value("", t["message"])
		}
		if err := c.single(m, "message"); err != nil {
			return prompt{}, err
		}
		maxPath = []string{"max_tokens"}
	}
	n, _, err := intField(m, maxPath...)
	if err != nil {
		return prompt{}, err
	}
	return c.prompt(n), nil
}

// single counts the one prompt string under key, which is required.
func (c *counter) single(m map[string]any, key string) *apiError {
	s, ok := m[key].(string)
	if !ok {
		return malformed("#: required key [" + key + "] not found")
	}
	c.tokens += messageOverhead
	c.text(s)
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// result is a generated answer.
type result struct {
	modelID     string
	reqID       string
	u           usage
	text        string
	maxed       bool // stopped because the output budget ran out
	latencyMs   int64
	firstByteMs int64
}

// usage is the token usage of one call.
type usage struct{ input, output, cacheRead, cacheWrite int }

func (r *result) stop(endTurn, maxTokens string) string {
	if r.maxed {
		return maxTokens
	}
	return endTurn
}

type obj = map[string]any

// invokeBody is the InvokeModel response body for family f.
func invokeBody(f modelFamily, r *result) any {
	u := r.u
	switch f {
	case familyAnthropic:
		return obj{"id": r.msgID(), "type": "message", "role": "assistant", "model": baseModelID(r.modelID),
			"content":     []obj{{"type": "text", "text": r.text}},
			"stop_reason": r.stop("end_turn", "max_tokens"), "stop_sequence": nil,
			"usage": obj{"input_tokens": u.input, "output_tokens": u.output,
				"cache_creation_input_tokens": u.cacheWrite, "cache_read_input_tokens": u.cacheRead}}
	case familyNova:
		return obj{"output": obj{"message": obj{"role": "assistant", "content": []obj{{"text": r.text}}}},
			"stopReason": r.stop("end_turn", "max_tokens"),
			"usage": obj{"inputTokens": u.input, "outputTokens": u.output, "totalTokens": u.total(),
				"cacheReadInputTokenCount": u.cacheRead, "cacheWriteInputTokenCount": u.cacheWrite}}
	case familyTitan:
		return obj{"inputTextTokenCount": u.input, "results": []obj{{"tokenCount": u.output, "outputText": r.text,
			"completionReason": r.stop("FINISH", "LENGTH")}}}
	case familyLlama:
		return obj{"generation": r.text, "prompt_token_count": u.input, "generation_token_count": u.output,
			"stop_reason": r.stop("stop", "length")}
	case familyMistral:
		return obj{"outputs": []obj{{"text": r.text, "stop_reason": r.stop("stop", "length")}}}
	default: // familyCohere
		return obj{"response_id": "sim", "generation_id": "sim", "text": r.text, "chat_history": []obj{},
			"finish_reason": r.stop("COMPLETE", "MAX_TOKENS")}
	}
}

// msgID is an Anthropic message ID derived from the request ID.
func (r *result) msgID() string { return "msg_bdrk_" + strings.ReplaceAll(r.reqID, "-", "")[:24] }

func (u usage) total() int { return u.input + u.output + u.cacheRead + u.cacheWrite }

// invocationMetrics is the "amazon-bedrock-invocationMetrics" object of the
// last chunk of an InvokeModelWithResponseStream.
func invocationMetrics(r *result) obj {
	m := obj{"inputTokenCount": r.u.input, "outputTokenCount": r.u.output,
		"invocationLatency": r.latencyMs, "firstByteLatency": r.firstByteMs}
	if r.u.cacheRead > 0 || r.u.cacheWrite > 0 {
		m["cacheReadInputTokenCount"] = r.u.cacheRead
		m["cacheWriteInputTokenCount"] = r.u.cacheWrite
	}
	return m
}

// streamShape builds the frames of a stream: start frames, one frame per
// delta of text (sent is the count of output tokens sent so far, this delta
// included), and end frames.
type streamShape struct {
	start func(r *result) []frame
	delta func(r *result, text string, sent int, first bool) frame
	end   func(r *result) []frame
}

// converseShape is ConverseStream: messageStart, contentBlockDelta...,
// contentBlockStop, messageStop, metadata.
var converseShape = streamShape{
	start: func(*result) []frame { return []frame{eventFrame("messageStart", obj{"role": "assistant"})} },
	delta: func(_ *result, text string, _ int, _ bool) frame {
		return eventFrame("contentBlockDelta", obj{"contentBlockIndex": 0, "delta": obj{"text": text}})
	},
	end: func(r *result) []frame {
		return []frame{
			eventFrame("contentBlockStop", obj{"contentBlockIndex": 0}),
			eventFrame("messageStop", obj{"stopReason": r.stop("end_turn", "max_tokens")}),
			eventFrame("metadata", obj{"usage": converseUsage(r.u), "metrics": obj{"latencyMs": r.latencyMs}}),
		}
	},
}

// invokeShape is InvokeModelWithResponseStream for family f: chunk events
// whose bytes are the family's streaming JSON.
func invokeShape(f modelFamily) streamShape {
	var s streamShape
	switch f {
	case familyAnthropic:
		s.start = func(r *result) []frame {
			return []frame{
				chunkFrame(obj{"type": "message_start", "message": obj{"id": r.msgID(), "type": "message", "role": "assistant",
					"model": baseModelID(r.modelID), "content": []obj{}, "stop_reason": nil, "stop_sequence": nil,
					"usage": obj{"input_tokens": r.u.input, "output_tokens": 1,
						"cache_creation_input_tokens": r.u.cacheWrite, "cache_read_input_tokens": r.u.cacheRead}}}),
				chunkFrame(obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "text", "text": ""}}),
			}
		}
		s.delta = func(_ *result, text string, _ int, _ bool) frame {
			return chunkFrame(obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": text}})
		}
		s.end = func(r *result) []frame {
			return []frame{
				chunkFrame(obj{"type": "content_block_stop", "index": 0}),
				chunkFrame(obj{"type": "message_delta", "delta": obj{"stop_reason": r.stop("end_turn", "max_tokens"), "stop_sequence": nil},
					"usage": obj{"output_tokens": r.u.output}}),
				chunkFrame(obj{"type": "message_stop", "amazon-bedrock-invocationMetrics": invocationMetrics(r)}),
			}
		}
	case familyNova:
		s.start = func(*result) []frame { return []frame{chunkFrame(obj{"messageStart": obj{"role": "assistant"}})} }
		s.delta = func(_ *result, text string, _ int, _ bool) frame {
			return chunkFrame(obj{"contentBlockDelta": obj{"delta": obj{"text": text}, "contentBlockIndex": 0}})
		}
		s.end = func(r *result) []frame {
			return []frame{
				chunkFrame(obj{"contentBlockStop": obj{"contentBlockIndex": 0}}),
				chunkFrame(obj{"messageStop": obj{"stopReason": r.stop("end_turn", "max_tokens")}}),
				chunkFrame(obj{"metadata": obj{"usage": obj{"inputTokens": r.u.input, "outputTokens": r.u.output,
					"cacheReadInputTokenCount": r.u.cacheRead, "cacheWriteInputTokenCount": r.u.cacheWrite}},
					"amazon-bedrock-invocationMetrics": invocationMetrics(r)}),
			}
		}
	default:
		s = textShape(f)
	}
	return s
}

// textShape is the stream of the text-completion families: one chunk per
// delta, the last one carrying the stop reason and invocation metrics.
func textShape(f modelFamily) streamShape {
	chunk := func(r *result, text string, sent int, first, last bool) obj {
		switch f {
		case familyTitan:
			o := obj{"outputText": text, "index": 0, "totalOutputTextTokenCount": sent, "completionReason": nil, "inputTextTokenCount": r.u.input}
			if last {
				o["completionReason"] = r.stop("FINISH", "LENGTH")
			}
			return o
		case familyLlama:
			o := obj{"generation": text, "prompt_token_count": nil, "generation_token_count": sent, "stop_reason": nil}
			if first {
				o["prompt_token_count"] = r.u.input
			}
			if last {
				o["stop_reason"] = r.stop("stop", "length")
			}
			return o
		case familyMistral:
			o := obj{"text": text, "stop_reason": nil}
			if last {
				o["stop_reason"] = r.stop("stop", "length")
			}
			return obj{"outputs": []obj{o}}
		default: // familyCohere
			if last {
				return obj{"is_finished": true, "event_type": "stream-end", "finish_reason": r.stop("COMPLETE", "MAX_TOKENS")}
			}
			return obj{"is_finished": false, "event_type": "text-generation", "text": text}
		}
	}
	return streamShape{
		start: func(*result) []frame { return nil },
		delta: func(r *result, text string, sent int, first bool) frame {
			return chunkFrame(chunk(r, text, sent, first, false))
		},
		end: func(r *result) []frame {
			o := chunk(r, "", r.u.output, r.u.output == 0, true)
			o["amazon-bedrock-invocationMetrics"] = invocationMetrics(r)
			return []frame{chunkFrame(o)}
		},
	}
}

// converseUsage is the Converse "usage" object.
func converseUsage(u usage) obj {
	o := obj{"inputTokens": u.input, "outputTokens": u.output, "totalTokens": u.total()}
	if u.cacheRead > 0 || u.cacheWrite > 0 {
		o["cacheReadInputTokens"] = u.cacheRead
		o["cacheWriteInputTokens"] = u.cacheWrite
	}
	return o
}
