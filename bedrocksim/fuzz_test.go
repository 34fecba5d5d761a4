package bedrocksim_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// FuzzDecoders sends arbitrary bodies to every operation of every family:
// the answer must be a 200 or a 400 ValidationException, never a panic.
func FuzzDecoders(f *testing.F) {
	for _, fc := range familyCases {
		f.Add(fc.body)
	}
	f.Add(`{"messages":[{"role":"user","content":[{"text":"x"},{"cachePoint":{"type":"default"}}]}],"system":"s"}`)
	f.Add(`{"input":{"invokeModel":{"body":"e30="}}}`)
	f.Add(`{"input":{"converse":{"messages":[{"role":"user","content":[{"image":{"source":{"bytes":"AAAA"}}}]}]}}}`)
	f.Add(`{"messages":[{"role":"user","content":7}],"max_tokens":-1}`)
	sim, err := bedrocksim.New(bedrocksim.WithOutputFraction(0.01))
	if err != nil {
		f.Fatal(err)
	}
	models := []string{haiku3, novaLite, "amazon.titan-text-lite-v1", "meta.llama3-8b-instruct-v1:0", "mistral.mistral-large-2402-v1:0", "cohere.command-r-plus-v1:0"}
	ops := []string{"converse", "converse-stream", "invoke", "invoke-with-response-stream", "count-tokens"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, m := range models {
			for _, op := range ops {
				rec := httptest.NewRecorder()
				sim.ServeHTTP(rec, httptest.NewRequest("POST", "/model/"+m+"/"+op, strings.NewReader(body)))
				if rec.Code != 200 && rec.Code != 400 {
					t.Fatalf("%s %s: status %d for %q", m, op, rec.Code, body)
				}
				if rec.Code == 400 && !strings.HasPrefix(rec.Header().Get("X-Amzn-ErrorType"), "ValidationException:") {
					t.Fatalf("%s %s: 400 without ValidationException", m, op)
				}
			}
		}
	})
}
