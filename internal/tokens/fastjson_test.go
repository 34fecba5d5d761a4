package tokens

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// fastBodies are Anthropic bodies that fastAnthropic must read exactly as
// encoding/json does, or leave to it: escapes, invalid UTF-8, odd keys,
// duplicates, nulls, wrong types, numbers out of range, nesting.
var fastBodies = []string{
	`{"messages":[{"role":"user","content":"hi"}],"max_tokens":100}`,
	`{"prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":5}`,
	`{"prompt":null,"messages":null}`,
	`{"messages":[]}`,
	`{"messages":[null,{"role":null,"content":null}]}`,
	`{"messages":[{"role":"assistant","content":[null,{"type":"text","text":"a\u00e9\ud83d\ude00\ud800 \"q\" \\ \/ \b\f\n\r\t"}]}]}`,
	"{\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\xfe utf8 \xe2\x82\"}]}",
	`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"Messages":[]}`,
	`{"messages":[{"role":"user","Content":"hi"}]}`,
	`{"messages":[{"role":"user","content":[{"Type":"text","text":"x"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","TEXT":"x"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","te\u0078t":"x"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":"x","text":"y"}]}]}`,
	`{"messages":[{"role":"user","content":"a"}],"messages":[{"role":"user","content":"b"}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`,
	`{"messages":[{"role":"user","content":5}]}`,
	`{"messages":[{"role":"user","content":{"type":"text"}}]}`,
	`{"messages":[{"role":"user","content":"a"},{"role":"user","content":[1]}]}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":1e300}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":9223372036854775807}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":-0}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":1.5}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":"5"}`,
	`{"messages":[{"role":"user","content":"a"}],"max_tokens":null,"max_tokens_to_sample":7}`,
	`{"messages":[{"role":"user","content":"a"}],"unknown":{"x":[1e999,true,false,null,-0.5e-3]}}`,
	`{"messages":[{"role":"user","content":"a"}],"unknown":01}`,
	`{"messages":[{"role":"user","content":"a"}],"unknown":1.}`,
	`{"messages":[{"role":"user","content":"a"}],"unknown":tru}`,
	`{"messages":[{"role":"user","content":"a"}]} x`,
	`{"messages":[{"role":"user","content":"a"}]}` + "\x00",
	`{"messages":[{"role":"user","content":"a"}],}`,
	`{"messages":[{"role":"user","content":"a",}]}`,
	`{"messages":[{"role":"user","content":"a\u12"}]}`,
	`{"messages":[{"role":"user","content":"a\x"}]}`,
	"{\"messages\":[{\"role\":\"user\",\"content\":\"tab\tin string\"}]}",
	` {"messages" : [ { "role" : "user" , "content" : [ { "type" : "text" , "text" : "x" } ] } ] } `,
	`null`,
	`[]`,
	`{"system":"be brief","tools":[{"name":"f","input_schema":{"type":"object"}},null],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"a"}]}`,
	`{"system":[{"type":"text","text":"be brief"}],"tools":[{"name":"f"}],"tool_choice":{"type":"auto","x":1},"messages":[{"role":"user","content":"a"}]}`,
	`{"tools":[{"name":"f"}],"tool_choice":null,"messages":[{"role":"user","content":"a"}]}`,
	`{"tools":[{"name":"f"}],"tool_choice":"any","messages":[{"role":"user","content":"a"}]}`,
	`{"tools":{},"messages":[{"role":"user","content":"a"}]}`,
	`{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"q": "a<b", "n": 1.50, "z": [1e2]}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"tool_use","id":"t2","name":"g","input":{"q": "a<b", "n": 1.50, "b":true}},{"type":"text","Text":"ignored","text":"kept"}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a","x":1e999}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a"}],"x":1e999}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":1e999}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"tool_use","input":1e999}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":5}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[5]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[null,{"type":"text","text":null}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":7}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","te\u0078t":"x"}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"x","text":"y"}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","Ω":"x","text":"y"}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"image","source":null}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"image","source":"x"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"image","source":{"Type":"base64"}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"document","title":"t","context":"c","source":{"type":"text","media_type":"text/plain","data":"doc text"}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content"},"content":[{"type":"text","text":"inner"}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content"},"content":{"x":1}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"!!"}}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"tool_result","content":[{"type":"document","source":{"type":"text","data":"d","x":[1]}}]}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"thinking","thinking":"hmm"},{"type":"redacted_thinking","data":"abcdefgh"},{"type":"other","text":"t"}]}]}`,
}

// walkBoth estimates body by fastAnthropic (if it takes it) and by
// encoding/json, on fresh estimators, and reports any difference.
func walkBoth(t *testing.T, body []byte) (took bool) {
	t.Helper()
	seed := newTest(t, Options{}).seed
	run := func(slow bool) (walk, *int, bool) {
		e := newTest(t, Options{})
		e.seed = seed
		w := walk{e: e, budget: e.budget, fp: 14695981039346656037, fam: Anthropic}
		var mt *int
		var ok bool
		if slow {
			mt, ok = w.anthropicBodyJSON(body)
		} else {
			mt, ok = w.anthropicBody(body)
		}
		w.e = nil
		return w, mt, ok
	}
	f, took := fastAnthropic(body)
	if f.syntax && json.Valid(body) {
		t.Errorf("body %q: marked as a syntax error, but it is valid JSON", body)
	}
	fw, fmt_, fok := run(false)
	sw, smt, sok := run(true)
	if fw != sw || fok != sok || (fmt_ == nil) != (smt == nil) || fmt_ != nil && *fmt_ != *smt {
		t.Errorf("body %q (fast path %v):\nfast %+v %v %v\njson %+v %v %v", body, took, fw, ptrInt(fmt_), fok, sw, ptrInt(smt), sok)
	}
	return took
}

func ptrInt(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// TestFastAnthropicMatchesJSON: the single-pass reader counts every body
// exactly as the encoding/json path does.
func TestFastAnthropicMatchesJSON(t *testing.T) {
	taken := 0
	for _, b := range fastBodies {
		if walkBoth(t, []byte(b)) {
			taken++
		}
	}
	for name, b := range adversarialBodies(64 << 10) {
		if !walkBoth(t, b) {
			t.Errorf("%s: not taken by the single-pass reader", name)
		}
	}
	if taken < len(fastBodies)/3 {
		t.Errorf("single-pass reader took only %d of %d bodies", taken, len(fastBodies))
	}
	deep := strings.Repeat(`[`, 10005) + strings.Repeat(`]`, 10005)
	walkBoth(t, []byte(`{"messages":[{"role":"user","content":"a"}],"x":`+deep+`}`))
}

func FuzzFastAnthropic(f *testing.F) {
	for _, b := range fastBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { walkBoth(t, body) })
}
