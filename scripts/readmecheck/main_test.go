package main

import "testing"

func TestFind(t *testing.T) {
	example := `package main

func main() {
	bridge, err := otelbridge.New(
		otelbridge.WithTracerProvider(tp)) // a comment
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bedrockguard.Install(&cfg, bridge.Option()); err != nil {
		log.Fatal(err)
	}
	f(xs...)
}
`
	for _, c := range []struct {
		name, block string
		want        bool
	}{
		{"verbatim", "if err != nil {\n\tlog.Fatal(err)\n}\n", true},
		{"layout and comments", "bridge, err := otelbridge.New(otelbridge.WithTracerProvider(tp)) // other\n", true},
		{"statement elision", "bridge, err := otelbridge.New(otelbridge.WithTracerProvider(tp))\nif err != nil { ... }\n", true},
		{"argument elision", "bridge, err := otelbridge.New(...)\nif err != nil { ... }\n", true},
		{"two elisions", "func main() {\n\t...\n\tf(xs...)\n}\n", true},
		{"variadic is not an elision", "f(xs)\n", false},
		{"other name", "guard, err := bedrockguard.Install(&cfg, bridge.Option())\n", false},
		{"elision stays in its block", "if err != nil { ... }\nf(xs...)\n", false},
		{"literal differs", "otelbridge.New(otelbridge.WithTracerProvider(tp2))\n", false},
	} {
		ok, _ := find(tokens([]byte(c.block), true), tokens([]byte(example), false))
		if ok != c.want {
			t.Errorf("%s: found = %v, want %v", c.name, ok, c.want)
		}
	}
}
