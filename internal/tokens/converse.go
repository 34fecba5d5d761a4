package tokens

import (
	"encoding/json"
	"hash/maphash"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Anthropic's tool-use system prompt, added by the model when tools are
// present: 346 tokens with tool_choice auto/none, 313 with any/tool (Claude
// 3.7 Sonnet and the Claude 4 models; https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview#pricing).
const (
	claudeToolPromptAuto = 346
	claudeToolPromptAny  = 313
)

// Fingerprint tags for block kinds.
const (
	tagText = iota + 1
	tagImage
	tagDoc
	tagToolUse
	tagToolResult
	tagReasoning
	tagCache
	tagTool
	tagSystem
	tagUser
	tagAssistant
	tagOther
)

func (w *walk) converse(msgs []types.Message, system []types.SystemContentBlock, tools *types.ToolConfiguration) {
	w.tag(tagSystem)
	for _, b := range system {
		switch v := b.(type) {
		case *types.SystemContentBlockMemberText:
			w.text(v.Value)
		case *types.SystemContentBlockMemberGuardContent:
			w.guard(v.Value)
		case *types.SystemContentBlockMemberCachePoint:
			w.tag(tagCache)
		}
	}
	if tools != nil {
		w.toolConfig(tools)
	}
	for _, m := range msgs {
		w.tokens += messageOverhead
		if m.Role == types.ConversationRoleAssistant {
			w.tag(tagAssistant)
		} else {
			w.tag(tagUser)
		}
		for _, b := range m.Content {
			w.content(b)
		}
	}
}

func (w *walk) toolConfig(tc *types.ToolConfiguration) {
	w.tag(tagTool)
	n := 0
	for _, t := range tc.Tools {
		switch v := t.(type) {
		case *types.ToolMemberToolSpec:
			n++
			w.text(deref(v.Value.Name))
			w.text(deref(v.Value.Description))
			if s, ok := v.Value.InputSchema.(*types.ToolInputSchemaMemberJson); ok {
				w.doc(s.Value)
			}
		case *types.ToolMemberSystemTool:
			n++
			w.text(deref(v.Value.Name))
		case *types.ToolMemberCachePoint:
			w.tag(tagCache)
		}
	}
	if n > 0 && w.fam == Anthropic {
		switch tc.ToolChoice.(type) {
		case *types.ToolChoiceMemberAny, *types.ToolChoiceMemberTool:
			w.tokens += claudeToolPromptAny
		default:
			w.tokens += claudeToolPromptAuto
		}
	}
}

// doc counts a JSON document (a tool schema, tool input or JSON tool
// result) as its compact JSON text.
func (w *walk) doc(d document.Interface) {
	if d == nil {
		return
	}
	if v, ok := d.(interface{ Value() any }); ok {
		sz := docSize{seed: w.e.seed}
		if !sz.walk(v.Value(), maxDocNodes) {
			// Too large to marshal here: the SDK's encoder sorts every
			// map's keys through reflection (about 200 ms for a 1 MB
			// object of 80,000 keys). Estimate it from its strings, in one
			// pass, order-independently.
			sz = docSize{seed: w.e.seed}
			sz.walk(v.Value(), -1)
			w.fold(sz.fp)
			w.textB += sz.bytes
			w.tokens += sz.tokens
			w.fallback = true
			return
		}
	}
	b, err := d.MarshalSmithyDocument()
	if err != nil {
		w.fallback = true
		return
	}
	w.text(string(b))
}

// maxDocNodes is the most values a document may hold to be counted as its
// JSON text; a larger one is estimated from its strings.
const maxDocNodes = 4096

// docSize estimates a large document decoded into Go values (what
// encoding/json gives: maps, slices, strings, numbers, booleans, nil).
type docSize struct {
	nodes  int
	bytes  int
	tokens int
	fp     uint64 // order-independent: sums of the strings' hashes
	seed   maphash.Seed
}

// walk adds v to the estimate; with budget >= 0 it stops and returns false
// past budget values.
func (d *docSize) walk(v any, budget int) bool {
	d.nodes++
	if budget >= 0 && d.nodes > budget {
		return false
	}
	switch v := v.(type) {
	case nil, bool:
		d.bytes += 5
		d.tokens++
	case string:
		d.str(v)
	case float64, float32, int, int64, int32, uint64, uint32, json.Number:
		d.bytes += 8
		d.tokens += 3
	case []any:
		d.bytes += 2
		d.tokens++
		for _, e := range v {
			if !d.walk(e, budget) {
				return false
			}
			d.bytes++
			d.tokens++
		}
	case map[string]any:
		d.bytes += 2
		d.tokens++
		for k, e := range v {
			d.str(k)
			d.bytes += 2
			d.tokens += 2
			if !d.walk(e, budget) {
				return false
			}
		}
	case []string:
		for _, e := range v {
			d.str(e)
		}
		d.nodes += len(v)
	case map[string]string:
		for k, e := range v {
			d.str(k)
			d.str(e)
		}
		d.nodes += len(v)
	default:
		// Another type (a struct, a typed map or slice): the SDK's encoder
		// walks it by reflection. Counted as one small value here.
		d.bytes += 16
		d.tokens += 4
	}
	return budget < 0 || d.nodes <= budget
}

func (d *docSize) str(s string) {
	d.bytes += len(s) + 2
	d.tokens += HeuristicTokens(s) + 1
	d.fp += maphash.String(d.seed, s)
}

func (w *walk) guard(g types.GuardrailConverseContentBlock) {
	switch v := g.(type) {
	case *types.GuardrailConverseContentBlockMemberText:
		w.text(deref(v.Value.Text))
	case *types.GuardrailConverseContentBlockMemberImage:
		if s, ok := v.Value.Source.(*types.GuardrailConverseImageSourceMemberBytes); ok {
			w.imageBytes(s.Value)
		} else {
			w.tokens += imageTokens(w.fam, 0, 0)
		}
	}
}

func (w *walk) imageBytes(b []byte) {
	w.tag(tagImage)
	w.bytesFP(b)
	iw, ih := imageSize(b)
	w.tokens += imageTokens(w.fam, iw, ih)
}

func (w *walk) image(img types.ImageBlock) {
	if s, ok := img.Source.(*types.ImageSourceMemberBytes); ok {
		w.imageBytes(s.Value)
		return
	}
	w.tag(tagImage)
	w.tokens += imageTokens(w.fam, 0, 0) // S3 location: assume the maximum
}

func (w *walk) documentBlock(d types.DocumentBlock) {
	w.tag(tagDoc)
	w.text(deref(d.Name))
	w.text(deref(d.Context))
	switch s := d.Source.(type) {
	case *types.DocumentSourceMemberBytes:
		w.document(string(d.Format), s.Value)
	case *types.DocumentSourceMemberText:
		w.text(s.Value)
	case *types.DocumentSourceMemberContent:
		for _, c := range s.Value {
			if t, ok := c.(*types.DocumentContentBlockMemberText); ok {
				w.text(t.Value)
			}
		}
	default: // S3 location: the size is unknown
		w.tokens += pdfTokens(nil)
		w.fallback = true
	}
}

func (w *walk) video(types.VideoBlock) {
	w.tag(tagOther)
	w.tokens += videoTokens
}

func (w *walk) searchResult(r types.SearchResultBlock) {
	w.text(deref(r.Title))
	w.text(deref(r.Source))
	for _, c := range r.Content {
		w.text(deref(c.Text))
	}
}

func (w *walk) content(b types.ContentBlock) {
	switch v := b.(type) {
	case *types.ContentBlockMemberText:
		w.tag(tagText)
		w.text(v.Value)
	case *types.ContentBlockMemberImage:
		w.image(v.Value)
	case *types.ContentBlockMemberDocument:
		w.documentBlock(v.Value)
	case *types.ContentBlockMemberVideo:
		w.video(v.Value)
	case *types.ContentBlockMemberAudio:
		w.tag(tagOther)
		w.tokens += audioTokens
	case *types.ContentBlockMemberToolUse:
		w.tag(tagToolUse)
		w.text(deref(v.Value.ToolUseId))
		w.text(deref(v.Value.Name))
		w.doc(v.Value.Input)
	case *types.ContentBlockMemberToolResult:
		w.tag(tagToolResult)
		w.text(deref(v.Value.ToolUseId))
		for _, c := range v.Value.Content {
			w.toolResult(c)
		}
	case *types.ContentBlockMemberReasoningContent:
		w.tag(tagReasoning)
		switch r := v.Value.(type) {
		case *types.ReasoningContentBlockMemberReasoningText:
			w.text(deref(r.Value.Text))
		case *types.ReasoningContentBlockMemberRedactedContent:
			w.bytesFP(r.Value)
			w.tokens += ceilDiv(len(r.Value), 4)
		}
	case *types.ContentBlockMemberCachePoint:
		w.tag(tagCache) // a marker: no tokens of its own
	case *types.ContentBlockMemberGuardContent:
		w.guard(v.Value)
	case *types.ContentBlockMemberCitationsContent:
		for _, c := range v.Value.Content {
			if t, ok := c.(*types.CitationGeneratedContentMemberText); ok {
				w.text(t.Value)
			}
		}
	case *types.ContentBlockMemberSearchResult:
		w.searchResult(v.Value)
	case *types.ContentBlockMemberToolAddition:
		if v.Value.Tool != nil {
			w.text(deref(v.Value.Tool.Name))
		}
	case *types.ContentBlockMemberToolRemoval:
		if v.Value.Tool != nil {
			w.text(deref(v.Value.Tool.Name))
		}
	}
}

func (w *walk) toolResult(c types.ToolResultContentBlock) {
	switch v := c.(type) {
	case *types.ToolResultContentBlockMemberText:
		w.text(v.Value)
	case *types.ToolResultContentBlockMemberJson:
		w.doc(v.Value)
	case *types.ToolResultContentBlockMemberImage:
		w.image(v.Value)
	case *types.ToolResultContentBlockMemberDocument:
		w.documentBlock(v.Value)
	case *types.ToolResultContentBlockMemberVideo:
		w.video(v.Value)
	case *types.ToolResultContentBlockMemberSearchResult:
		w.searchResult(v.Value)
	}
}
