package tokens

import (
	"encoding/json"
	"strings"
	"testing"
)

// genericBodies are generic-schema bodies that fastGeneric must read
// exactly as encoding/json does, or leave to it.
var genericBodies = []string{
	`{"prompt":"hi","max_gen_len":100}`,
	`{"prompt":null,"messages":null}`,
	`{"prompt":null,"messages":[]}`,
	`{"inputText":"hi","max_new_tokens":3}`,
	`{"prompt":"a","inputtext":"b"}`,
	`{"prompt":"a","Prompt":"b"}`,
	`{"prompt":"a","prompt":"b"}`,
	`{"prompt":5}`,
	`{"prompt":"a\u00e9\ud800 \"q\"","max_tokens":1e300}`,
	"{\"prompt\":\"bad \xff\xfe utf8\"}",
	`{"prompt":"a","max_tokens":9223372036854775807,"max_completion_tokens":7}`,
	`{"prompt":"a","max_tokens":null,"max_completion_tokens":7,"max_gen_len":8,"max_new_tokens":9}`,
	`{"prompt":"a","max_tokens":1.5}`,
	`{"prompt":"a","max_tokens":"5"}`,
	`{"prompt":"a","images":["iVBORw0KGgo=",null,""]}`,
	`{"prompt":"a","images":[1]}`,
	`{"prompt":"a","images":null}`,
	`{"messages":[null,{"role":null,"content":null}]}`,
	`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"text","text":"a"},null,{"type":"image_url","image_url":{"url":"x"}},{"image":null},{"text":null,"image":1}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},5]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","Text":"a"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}`,
	`{"messages":[{"role":"user","content":[{"type":"text","text":5,"x":1e999}]}]}`,
	`{"messages":[{"role":"user","content":[{"text":5},{"Text":"a"}]}]}`,
	`{"messages":[{"role":"user","content":[{"text":5},{"text":"a",}]}]}`,
	`{"messages":[{"role":"user","content":{"parts":["a"]}}]}`,
	`{"messages":[{"role":"user","content":12.5e3}]}`,
	`{"messages":[{"role":"user","content":true}]}`,
	`{"messages":[{"role":5,"content":"a"}]}`,
	`{"messages":{"role":"user"}}`,
	`{"messages":[{"role":"user","content":"a"}],"system":"be brief","tools":[{"type":"function","function":{"name":"f"}},null]}`,
	`{"messages":[{"role":"user","content":"a"}],"system":[{"text":"sys"}],"tools":null}`,
	`{"messages":[{"role":"user","content":"a"}],"system":[{"text":1}]}`,
	`{"messages":[{"role":"user","content":"a"}],"tools":{}}`,
	`{"messages":[{"role":"user","content":"a"}],"x":[1e999,true,false,null]}`,
	`{"messages":[{"role":"user","content":"a"}]} x`,
	`{"messages":[{"role":"user","content":"a"}],}`,
	`{"messages":[{"role":"user","content":"a\u12"}]}`,
	` {"messages" : [ { "role" : "user" , "content" : [ { "type" : "text" , "text" : "x" } ] } ] } `,
	`null`,
	`[]`,
	`"prompt"`,
}

// walkBothGeneric estimates body by fastGeneric (if it takes it) and by
// encoding/json, on fresh estimators, and reports any difference.
func walkBothGeneric(t *testing.T, body []byte) (took bool) {
	t.Helper()
	seed := newTest(t, Options{}).seed
	run := func(slow bool) (walk, *int, bool) {
		e := newTest(t, Options{})
		e.seed = seed
		w := walk{e: e, budget: e.budget, fp: 14695981039346656037, fam: Llama}
		var mt *int
		var ok bool
		if slow {
			mt, ok = w.genericBodyJSON(body)
		} else {
			mt, ok = w.genericBody(body)
		}
		w.e = nil
		return w, mt, ok
	}
	f, took := fastGeneric(body)
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

// TestFastGenericMatchesJSON: the single-pass generic reader counts every
// body exactly as the encoding/json path does, and takes the adversarial
// shapes of the generic families.
func TestFastGenericMatchesJSON(t *testing.T) {
	taken := 0
	for _, b := range genericBodies {
		if walkBothGeneric(t, []byte(b)) {
			taken++
		}
	}
	if taken < len(genericBodies)/3 {
		t.Errorf("single-pass reader took only %d of %d bodies", taken, len(genericBodies))
	}
	for _, fam := range []string{"llama", "mistral", "ai21", "openai"} {
		for name, b := range familyShapes(fam, 64<<10) {
			took := walkBothGeneric(t, b)
			want := !strings.HasPrefix(name, "deep-") && name != "duplicate-key" && name != "huge-number" && name != "huge-exponent"
			if want && !took {
				t.Errorf("%s/%s: not taken by the single-pass reader", fam, name)
			}
		}
	}
	deep := strings.Repeat(`[`, 10005) + strings.Repeat(`]`, 10005)
	walkBothGeneric(t, []byte(`{"messages":[{"role":"user","content":`+deep+`}]}`))
	walkBothGeneric(t, []byte(`{"messages":[{"role":"user","content":[{"text":1}, `+deep+`]}]}`))
}

func FuzzFastGeneric(f *testing.F) {
	for _, b := range genericBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { walkBothGeneric(t, body) })
}

// TestSyntaxErrorsSkipEncodingJSON: a body that is not JSON is recognised
// by the one-pass readers, so that it is estimated from its bytes without
// another pass through encoding/json.
func TestSyntaxErrorsSkipEncodingJSON(t *testing.T) {
	for _, b := range []string{
		`{"messages":[{"role":"user","content":"a"}]} x`,
		`{"messages":[{"role":"user","content":"a"}],}`,
		`{"messages":[{"role":"user","content":"a\x"}]}`,
		`{"messages":[{"role":"user","content":"a"}`,
		`{"messages":[{"role":"user","content":"a"} {}]}`,
		`{"prompt":"a","x":[1,2,}`,
		`{"prompt":"a","x":tru}`,
		`{"prompt":"a","x":-}`,
		`{"prompt":"a","x":{"k" 1}}`,
		`{"prompt":"a","x":{5:1}}`,
		"{\"prompt\":\"tab\tin string\"}",
		`{"prompt":"` + strings.Repeat("a", 1<<20),
	} {
		if json.Valid([]byte(b)) {
			t.Fatalf("%q is valid JSON", b)
		}
		if f, _ := fastGeneric([]byte(b)); !f.syntax {
			t.Errorf("generic %q: syntax error not recognised", b)
		}
		if f, _ := fastAnthropic([]byte(b)); !f.syntax {
			t.Errorf("anthropic %q: syntax error not recognised", b)
		}
	}
}

// TestReplaceInvalidUTF8MatchesJSON: strings with invalid UTF-8 and no
// escapes decode as encoding/json decodes them.
func TestReplaceInvalidUTF8MatchesJSON(t *testing.T) {
	for _, in := range []string{
		"a\xffb", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xe2\x82\xac\xe2", "é\xfe\xfe日本\xf0\x9f\x98\x80\xf0\x9f",
		"\x80\x80\x80", "\xef\xbf\xbd", "\xf0\x9f\x98",
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+in+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := replaceInvalidUTF8([]byte(in)); got != want {
			t.Errorf("%q: got %q, encoding/json %q", in, got, want)
		}
	}
}
