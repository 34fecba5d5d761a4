package bedrocksim

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// prompt is what the simulator needs from a request body.
type prompt struct {
	tokens      int    // all input tokens, cached prefix included
	cacheTokens int    // tokens before the last cache point; 0 = no cache point
	cacheHash   uint64 // identifies the cached prefix
	hash        uint64 // identifies the whole prompt (drives the output)
	maxTokens   int    // requested output budget; 0 = not set
}

// counter walks decoded JSON and applies the counting rule of [inputTokens].
type counter struct {
	tokens, cacheTokens int
	h, cacheHash        uint64
}

func newCounter() *counter { return &counter{h: hashSeed} }

func (c *counter) text(s string) {
	c.tokens += inputTokens(s)
	c.h = hashString(c.h, s)
}

// mark records a cache point: everything counted so far is the prefix.
func (c *counter) mark() { c.cacheTokens, c.cacheHash = c.tokens, c.h }

// skipKeys hold protocol words, not content.
var skipKeys = map[string]bool{"role": true, "type": true, "format": true, "cache_control": true, "cachePoint": true, "anthropic_version": true, "schemaVersion": true}

// value counts every string in v, except protocol words; base64 payloads
// (keys "bytes" and "data") count with binaryTokens.
func (c *counter) value(key string, v any) {
	switch v := v.(type) {
	case string:
		switch {
		case skipKeys[key]:
		case key == "bytes" || key == "data":
			c.tokens += binaryTokens(len(v))
			c.h = hashString(c.h, strconv.Itoa(len(v)))
		default:
			c.text(v)
		}
	case []any:
		for _, e := range v {
			c.value(key, e)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) { // sorted: the hash must be deterministic
			c.value(k, v[k])
		}
	}
}

// blocks counts a content-block list (Converse, Nova, Anthropic), honouring
// {"cachePoint": ...} blocks and Anthropic "cache_control" markers. A plain
// string counts as one text block.
func (c *counter) blocks(v any) {
	list, ok := v.([]any)
	if !ok {
		c.value("text", v)
		return
	}
	for _, b := range list {
		m, _ := b.(map[string]any)
		if _, ok := m["cachePoint"]; ok {
			c.mark()
			continue
		}
		c.value("", b)
		if _, ok := m["cache_control"]; ok {
			c.mark()
		}
	}
}

// system counts a system prompt (string or block list), adding
// messageOverhead when it is non-empty.
func (c *counter) system(v any) {
	switch s := v.(type) {
	case nil:
		return
	case string:
		if s == "" {
			return
		}
	case []any:
		if len(s) == 0 {
			return
		}
	}
	c.tokens += messageOverhead
	c.blocks(v)
}

// messages validates and counts a message list: each message needs a role
// of "user" or "assistant" and some content.
func (c *counter) messages(v any) *apiError {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return validation("The messages field must contain at least one message.")
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return malformed("messages[" + strconv.Itoa(i) + "] is not an object")
		}
		role, _ := m["role"].(string)
		if role != "user" && role != "assistant" {
			return validation("messages.%d.role: role must be one of [user, assistant]", i)
		}
		if i == 0 && role != "user" {
			return validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
		}
		if m["content"] == nil {
			return validation("messages.%d.content: content is required", i)
		}
		c.tokens += messageOverhead
		c.h = hashString(c.h, role)
		c.blocks(m["content"])
	}
	return nil
}

func (c *counter) prompt(maxTokens int) prompt {
	return prompt{tokens: c.tokens, cacheTokens: c.cacheTokens, cacheHash: c.cacheHash, hash: c.h, maxTokens: maxTokens}
}

// decodeObject decodes a JSON object body.
func decodeObject(body []byte) (map[string]any, *apiError) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return nil, malformed("expected a JSON object")
	}
	return m, nil
}

// intField reads a non-negative integer at path in m. ok is false when it
// is absent; err is set when it is present but not a non-negative integer.
func intField(m map[string]any, path ...string) (n int, ok bool, err *apiError) {
	var v any = m
	for _, p := range path {
		o, _ := v.(map[string]any)
		if v = o[p]; v == nil {
			return 0, false, nil
		}
	}
	f, isNum := v.(float64)
	if !isNum || f < 0 || f != float64(int(f)) || f > 1<<31 {
		return 0, false, validation("%s must be a non-negative integer", path[len(path)-1])
	}
	return int(f), true, nil
}

// parseConverse reads a Converse / ConverseStream body, or the "converse"
// member of a CountTokens body.
func parseConverse(m map[string]any) (prompt, *apiError) {
	c := newCounter()
	if tc, ok := m["toolConfig"].(map[string]any); ok {
		c.value("", tc["tools"])
	}
	c.system(m["system"])
	if err := c.messages(m["messages"]); err != nil {
		return prompt{}, err
	}
	n, _, err := intField(m, "inferenceConfig", "maxTokens")
	if err != nil {
		return prompt{}, err
	}
	if n == 0 && m["inferenceConfig"] != nil {
		if _, set, _ := intField(m, "inferenceConfig", "maxTokens"); set {
			return prompt{}, validation("inferenceConfig.maxTokens must be at least 1")
		}
	}
	return c.prompt(n), nil
}
