package tokens

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

const proseText = `The pacing of a request depends on how many tokens it will charge against the quota. A careful estimate lets a client wait before it sends, instead of being throttled after. Bedrock reserves the input and the maximum output when a call starts, and settles the real usage when it ends; the difference goes back to the pool. When the estimate is too low, the client sends too much and the service refuses; when it is too high, capacity sits idle. `

const codeText = `func (s *Server) Serve(l net.Listener) error {
	origListener := l
	l = &onceCloseListener{Listener: l}
	defer l.Close()
	if err := s.setupHTTP2_Serve(); err != nil {
		return err
	}
	var tempDelay time.Duration // how long to sleep on accept failure
	for {
		rw, err := l.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Temporary() {
				tempDelay = min(max(tempDelay*2, 5*time.Millisecond), time.Second)
				continue
			}
			return err
		}
		go s.newConn(rw).serve(ctx)
	}
}
`

const cjkText = `東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。서울은 대한민국의 수도이며 한강을 중심으로 발달했습니다。北京是中华人民共和国的首都，有着三千多年的建城史。`

// corpus returns n bytes (cut on a rune boundary) of deterministic text of
// a kind: prose, code, json or cjk.
func corpus(kind string, n int) string {
	var b strings.Builder
	r := rand.New(rand.NewPCG(1, 2))
	for b.Len() < n {
		switch kind {
		case "prose":
			b.WriteString(proseText)
		case "code":
			b.WriteString(codeText)
		case "cjk":
			b.WriteString(cjkText)
		case "base64":
			raw := make([]byte, 3000)
			for i := range raw {
				raw[i] = byte(r.Uint32())
			}
			b.WriteString(base64.StdEncoding.EncodeToString(raw))
		case "json":
			fmt.Fprintf(&b, "{\n  \"id\": %d,\n  \"name\": \"item-%x\",\n  \"price\": %.2f,\n  \"tags\": [\"a%d\", \"b%d\"],\n  \"ok\": %t\n},\n",
				r.IntN(1e6), r.Uint32(), r.Float64()*100, r.IntN(50), r.IntN(50), r.IntN(2) == 0)
		default:
			panic(kind)
		}
	}
	s := b.String()[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
