package tokens

import (
	"encoding/base64"
	"encoding/json"
	"hash/maphash"
)

// body estimates an InvokeModel body by the model family's request schema.
// A body that is not valid JSON, does not have the family's shape, or is
// larger than maxBodyBytes is estimated from its bytes (Fallback).
func (w *walk) body(b []byte) (maxTokens int, explicit bool) {
	w.fold(maphash.Bytes(w.e.seed, b))
	var mt *int
	ok := false
	before := w.tokens
	if len(b) <= maxBodyBytes {
		switch w.fam {
		case Anthropic:
			mt, ok = w.anthropicBody(b)
		case Nova:
			mt, ok = w.novaBody(b)
		case Titan:
			mt, ok = w.titanBody(b)
		case Cohere:
			mt, ok = w.cohereBody(b)
		default: // Llama, Mistral and unknown families: prompt or chat messages
			mt, ok = w.genericBody(b)
		}
	}
	if !ok {
		// Discard whatever a partial walk counted.
		w.tokens = before + HeuristicTokens(string(b))
		w.fallback = true
		w.e.unparseable.Add(1)
		return 0, false
	}
	if mt != nil && *mt >= 0 {
		return *mt, true
	}
	return 0, false
}

func firstInt(ps ...*int) *int {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// isString reports whether raw JSON is a string (and decodes it).
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// rawJSON counts a JSON value (tool definitions, tool input) as text.
func (w *walk) rawJSON(raw json.RawMessage) {
	if len(raw) > 0 && string(raw) != "null" {
		w.text(string(raw))
	}
}

// Anthropic Messages API (and the legacy Text Completions "prompt").
type anthropicReq struct {
	Prompt            *string         `json:"prompt"`
	MaxTokens         *int            `json:"max_tokens"`
	MaxTokensToSample *int            `json:"max_tokens_to_sample"`
	System            json.RawMessage `json:"system"`
	Messages          []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools      []json.RawMessage `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
	} `json:"tool_choice"`
}

type anthropicBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	Data      string          `json:"data"`
	Name      string          `json:"name"`
	ID        string          `json:"id"`
	ToolUseID string          `json:"tool_use_id"`
	Title     string          `json:"title"`
	Context   string          `json:"context"`
	Input     json.RawMessage `json:"input"`
	// Content (tool_result, document) is decoded with the block, in the
	// same pass: a RawMessage re-parsed at every level of nesting made the
	// estimate quadratic in the depth.
	Content any           `json:"content"`
	Source  *anthropicSrc `json:"source"`
}

type anthropicSrc struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

func (w *walk) anthropicBody(b []byte) (*int, bool) {
	f, ok := fastAnthropic(b)
	switch {
	case ok:
		return w.fastAnthropicBody(&f), true
	case f.syntax:
		return nil, false // not JSON: encoding/json would refuse it too
	}
	return w.anthropicBodyJSON(b)
}

// anthropicBodyJSON reads an Anthropic body with encoding/json: the bodies
// fastAnthropic does not take.
func (w *walk) anthropicBodyJSON(b []byte) (*int, bool) {
	var r anthropicReq
	if json.Unmarshal(b, &r) != nil || (r.Prompt == nil && r.Messages == nil) {
		return nil, false
	}
	if r.Prompt != nil {
		w.text(*r.Prompt)
	}
	w.tag(tagSystem)
	if !w.anthropicContent(r.System) {
		return nil, false
	}
	choice := ""
	if r.ToolChoice != nil {
		choice = r.ToolChoice.Type
	}
	w.anthropicTools(r.Tools, choice)
	for _, m := range r.Messages {
		w.anthropicMessage(m.Role)
		if !w.anthropicContent(m.Content) {
			return nil, false
		}
	}
	return firstInt(r.MaxTokens, r.MaxTokensToSample), true
}

// anthropicTools counts an Anthropic body's tool definitions and the
// tool-use system prompt Claude adds for them (larger when choice forces a
// tool).
func (w *walk) anthropicTools(tools []json.RawMessage, choice string) {
	if len(tools) == 0 {
		return
	}
	w.tag(tagTool)
	for _, t := range tools {
		w.rawJSON(t)
	}
	if choice == "any" || choice == "tool" {
		w.tokens += claudeToolPromptAny
	} else {
		w.tokens += claudeToolPromptAuto
	}
}

// anthropicMessage counts a message's overhead and role marker.
func (w *walk) anthropicMessage(role string) {
	w.tokens += messageOverhead
	if role == "assistant" {
		w.tag(tagAssistant)
	} else {
		w.tag(tagUser)
	}
}

// fastAnthropicBody counts a body read by fastAnthropic, in the order
// anthropicBody counts it.
func (w *walk) fastAnthropicBody(r *fastAnthropicReq) *int {
	if r.prompt != nil {
		w.text(*r.prompt)
	}
	w.tag(tagSystem)
	w.anthropicContentValue(r.system)
	w.anthropicTools(r.tools, r.toolChoice)
	for _, m := range r.messages {
		w.anthropicMessage(m.role)
		w.anthropicContentValue(m.content)
	}
	return firstInt(r.maxTokens, r.maxTokensToSample)
}

// anthropicContent counts a content value: a string or an array of blocks.
func (w *walk) anthropicContent(raw json.RawMessage) bool {
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	if s, ok := jsonString(raw); ok {
		w.text(s)
		return true
	}
	// Pointers: a growing slice of large structs would be copied again at
	// every doubling.
	var blocks []*anthropicBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return false
	}
	for _, bl := range blocks {
		if bl != nil && !w.anthropicBlock(bl) {
			return false
		}
	}
	return true
}

// anthropicContentValue counts a content value decoded into any (nested
// tool_result or document content): a string, or an array of blocks.
// Every byte of a body is decoded once, whatever the nesting.
func (w *walk) anthropicContentValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		w.text(v)
		return true
	case []*anthropicBlock: // read by fastAnthropic
		for _, bl := range v {
			if !w.anthropicBlock(bl) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			var bl anthropicBlock
			if !blockFromValue(e, &bl) || !w.anthropicBlock(&bl) {
				return false
			}
		}
		return true
	}
	return false
}

// blockFromValue fills bl from a block decoded into any, with the checks
// json.Unmarshal makes for an anthropicBlock: an object (or null) whose
// string fields are strings.
func blockFromValue(v any, bl *anthropicBlock) bool {
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	ok = true
	str := func(key string, dst *string) {
		switch x := m[key].(type) {
		case nil:
		case string:
			*dst = x
		default:
			ok = false
		}
	}
	str("type", &bl.Type)
	str("text", &bl.Text)
	str("thinking", &bl.Thinking)
	str("data", &bl.Data)
	str("name", &bl.Name)
	str("id", &bl.ID)
	str("tool_use_id", &bl.ToolUseID)
	str("title", &bl.Title)
	str("context", &bl.Context)
	bl.Content = m["content"]
	if in, present := m["input"]; present && in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return false
		}
		bl.Input = raw
	}
	switch src := m["source"].(type) {
	case nil:
	case map[string]any:
		sm := m
		m = src
		bl.Source = &anthropicSrc{}
		str("type", &bl.Source.Type)
		str("media_type", &bl.Source.MediaType)
		str("data", &bl.Source.Data)
		m = sm
	default:
		return false
	}
	return ok
}

// anthropicBlock counts one content block.
func (w *walk) anthropicBlock(bl *anthropicBlock) bool {
	{
		switch bl.Type {
		case "text":
			w.tag(tagText)
			w.text(bl.Text)
		case "image":
			w.tag(tagImage)
			if bl.Source != nil && bl.Source.Type == "base64" {
				w.fold(maphash.String(w.e.seed, bl.Source.Data))
				iw, ih := imageSizeB64(bl.Source.Data)
				w.tokens += imageTokens(w.fam, iw, ih)
			} else {
				w.tokens += imageTokens(w.fam, 0, 0)
			}
		case "document":
			w.tag(tagDoc)
			w.text(bl.Title)
			w.text(bl.Context)
			switch {
			case bl.Source == nil:
			case bl.Source.Type == "text":
				w.text(bl.Source.Data)
			case bl.Source.Type == "content":
				w.anthropicContentValue(bl.Content)
			case bl.Source.Type == "base64":
				data, err := base64.StdEncoding.DecodeString(bl.Source.Data)
				if err != nil {
					w.text(bl.Source.Data)
					w.fallback = true
					break
				}
				w.document(bl.Source.MediaType, data)
			default:
				w.tokens += pdfTokens(nil)
				w.fallback = true
			}
		case "tool_use", "server_tool_use":
			w.tag(tagToolUse)
			w.text(bl.ID)
			w.text(bl.Name)
			w.rawJSON(bl.Input)
		case "tool_result":
			w.tag(tagToolResult)
			w.text(bl.ToolUseID)
			if !w.anthropicContentValue(bl.Content) {
				return false
			}
		case "thinking":
			w.tag(tagReasoning)
			w.text(bl.Thinking)
		case "redacted_thinking":
			w.tag(tagReasoning)
			w.tokens += ceilDiv(len(bl.Data), 4)
		default:
			w.text(bl.Text)
		}
	}
	return true
}

// Amazon Nova messages-v1 schema.
type novaBlock struct {
	Text  *string `json:"text"`
	Image *struct {
		Format string `json:"format"`
		Source struct {
			Bytes string `json:"bytes"`
		} `json:"source"`
	} `json:"image"`
	Document *struct {
		Format string `json:"format"`
		Name   string `json:"name"`
		Source struct {
			Bytes string `json:"bytes"`
		} `json:"source"`
	} `json:"document"`
	Video            json.RawMessage `json:"video"`
	ToolUse          json.RawMessage `json:"toolUse"`
	ToolResult       json.RawMessage `json:"toolResult"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text string `json:"text"`
		} `json:"reasoningText"`
	} `json:"reasoningContent"`
}

// novaReq holds blocks by pointer: a growing slice of large structs would be
// copied again at every doubling (a body of many tiny blocks).
type novaReq struct {
	System   []*novaBlock `json:"system"`
	Messages []struct {
		Role    string       `json:"role"`
		Content []*novaBlock `json:"content"`
	} `json:"messages"`
	InferenceConfig *struct {
		MaxNewTokens *int `json:"max_new_tokens"`
		MaxTokens    *int `json:"maxTokens"`
	} `json:"inferenceConfig"`
	ToolConfig json.RawMessage `json:"toolConfig"`
}

func (w *walk) novaBody(b []byte) (*int, bool) {
	var r novaReq
	if json.Unmarshal(b, &r) != nil || r.Messages == nil {
		return nil, false
	}
	w.tag(tagSystem)
	w.novaBlocks(r.System)
	w.rawJSON(r.ToolConfig)
	for _, m := range r.Messages {
		w.tokens += messageOverhead
		if m.Role == "assistant" {
			w.tag(tagAssistant)
		} else {
			w.tag(tagUser)
		}
		w.novaBlocks(m.Content)
	}
	if r.InferenceConfig == nil {
		return nil, true
	}
	return firstInt(r.InferenceConfig.MaxNewTokens, r.InferenceConfig.MaxTokens), true
}

func (w *walk) novaBlocks(bs []*novaBlock) {
	for _, bl := range bs {
		if bl == nil {
			continue
		}
		switch {
		case bl.Text != nil:
			w.tag(tagText)
			w.text(*bl.Text)
		case bl.Image != nil:
			w.tag(tagImage)
			w.fold(maphash.String(w.e.seed, bl.Image.Source.Bytes))
			iw, ih := imageSizeB64(bl.Image.Source.Bytes)
			w.tokens += imageTokens(w.fam, iw, ih)
		case bl.Document != nil:
			w.tag(tagDoc)
			w.text(bl.Document.Name)
			data, err := base64.StdEncoding.DecodeString(bl.Document.Source.Bytes)
			if err != nil {
				w.tokens += pdfTokens(nil)
				w.fallback = true
				continue
			}
			w.document(bl.Document.Format, data)
		case bl.Video != nil:
			w.tag(tagOther)
			w.tokens += videoTokens
		case bl.ToolUse != nil:
			w.tag(tagToolUse)
			w.rawJSON(bl.ToolUse)
		case bl.ToolResult != nil:
			w.tag(tagToolResult)
			w.rawJSON(bl.ToolResult)
		case bl.ReasoningContent != nil && bl.ReasoningContent.ReasoningText != nil:
			w.tag(tagReasoning)
			w.text(bl.ReasoningContent.ReasoningText.Text)
		}
	}
}

// Amazon Titan Text (and Titan embeddings: inputText only).
func (w *walk) titanBody(b []byte) (*int, bool) {
	var r struct {
		InputText *string `json:"inputText"`
		Config    *struct {
			MaxTokenCount *int `json:"maxTokenCount"`
		} `json:"textGenerationConfig"`
	}
	if json.Unmarshal(b, &r) != nil || r.InputText == nil {
		return nil, false
	}
	w.text(*r.InputText)
	if r.Config == nil {
		return nil, true
	}
	return r.Config.MaxTokenCount, true
}

// Cohere Command R / R+ chat, legacy Command generate, and Embed.
func (w *walk) cohereBody(b []byte) (*int, bool) {
	var r struct {
		Message     *string  `json:"message"`
		Prompt      *string  `json:"prompt"`
		Texts       []string `json:"texts"`
		Preamble    string   `json:"preamble"`
		ChatHistory []struct {
			Role    string `json:"role"`
			Message string `json:"message"`
		} `json:"chat_history"`
		Documents []json.RawMessage `json:"documents"`
		Tools     []json.RawMessage `json:"tools"`
		MaxTokens *int              `json:"max_tokens"`
	}
	if json.Unmarshal(b, &r) != nil || (r.Message == nil && r.Prompt == nil && r.Texts == nil) {
		return nil, false
	}
	w.text(r.Preamble)
	for _, t := range r.Tools {
		w.rawJSON(t)
	}
	for _, d := range r.Documents {
		w.rawJSON(d)
	}
	for _, h := range r.ChatHistory {
		w.tokens += messageOverhead
		w.text(h.Message)
	}
	if r.Message != nil {
		w.tokens += messageOverhead
		w.text(*r.Message)
	}
	if r.Prompt != nil {
		w.text(*r.Prompt)
	}
	for _, t := range r.Texts {
		w.text(t)
	}
	return r.MaxTokens, true
}

// genericReq is a chat or prompt body of the generic schema: Meta Llama
// ({"prompt","max_gen_len"}), Mistral ({"prompt"} or {"messages"},
// "max_tokens") and OpenAI-style chat bodies of other providers (AI21
// Jamba, OpenAI gpt-oss, ...).
type genericReq struct {
	Prompt              *string           `json:"prompt"`
	InputText           *string           `json:"inputText"`
	System              json.RawMessage   `json:"system"`
	Messages            []genericMsg      `json:"messages"`
	Tools               []json.RawMessage `json:"tools"`
	Images              []string          `json:"images"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	MaxGenLen           *int              `json:"max_gen_len"`
	MaxNewTokens        *int              `json:"max_new_tokens"`
}

// genericMsg is one message of a generic-schema body.
type genericMsg struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// genericPart is one part of an array content value.
type genericPart struct {
	Text     *string         `json:"text"`
	Image    json.RawMessage `json:"image"`
	ImageURL json.RawMessage `json:"image_url"`
}

// genericBody reads a generic-schema body: in one pass when fastGeneric
// takes it, else with encoding/json.
func (w *walk) genericBody(b []byte) (*int, bool) {
	f, ok := fastGeneric(b)
	switch {
	case ok:
		return w.genericCount(&f.req, f.contents), true
	case f.syntax:
		return nil, false // not JSON: encoding/json would refuse it too
	}
	return w.genericBodyJSON(b)
}

// genericBodyJSON reads a generic-schema body with encoding/json: the
// bodies fastGeneric does not take.
func (w *walk) genericBodyJSON(b []byte) (*int, bool) {
	var r genericReq
	if json.Unmarshal(b, &r) != nil || (r.Prompt == nil && r.InputText == nil && r.Messages == nil) {
		return nil, false
	}
	return w.genericCount(&r, nil), true
}

// genericCount counts a decoded generic body. contents, when not nil,
// holds the system and message content values already decoded (system
// first); else they are decoded from r's raw values.
func (w *walk) genericCount(r *genericReq, contents []genericContentValue) *int {
	content := func(i int, raw json.RawMessage) {
		if contents != nil {
			w.genericContentValue(&contents[i])
			return
		}
		w.genericContent(raw)
	}
	if r.Prompt != nil {
		w.text(*r.Prompt)
	}
	if r.InputText != nil {
		w.text(*r.InputText)
	}
	for _, img := range r.Images {
		iw, ih := imageSizeB64(img)
		w.tokens += imageTokens(w.fam, iw, ih)
	}
	content(0, r.System)
	for _, t := range r.Tools {
		w.rawJSON(t)
	}
	for i, m := range r.Messages {
		w.tokens += messageOverhead
		content(i+1, m.Content)
	}
	return firstInt(r.MaxTokens, r.MaxCompletionTokens, r.MaxGenLen, r.MaxNewTokens)
}

// genericContent counts a string, or an array of parts with "text"; parts
// carrying an image count as one image of unknown size. Any other value is
// counted as its JSON text.
func (w *walk) genericContent(raw json.RawMessage) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	if s, ok := jsonString(raw); ok {
		w.text(s)
		return
	}
	var parts []genericPart
	if json.Unmarshal(raw, &parts) != nil {
		w.rawJSON(raw)
		return
	}
	w.genericContentValue(&genericContentValue{parts: parts, isParts: true})
}

// genericContentValue counts a content value decoded by fastGeneric (or
// the parts genericContent decoded).
func (w *walk) genericContentValue(c *genericContentValue) {
	switch {
	case c.isString:
		w.text(c.str)
	case c.isParts:
		for _, p := range c.parts {
			switch {
			case p.Text != nil:
				w.text(*p.Text)
			case p.Image != nil || p.ImageURL != nil:
				w.tokens += imageTokens(w.fam, 0, 0)
			}
		}
	default:
		w.rawJSON(c.raw)
	}
}
