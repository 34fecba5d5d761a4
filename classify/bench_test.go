package classify_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/classify"
)

var sink classify.Class

func BenchmarkClassify(b *testing.B) {
	cases := []struct {
		name string
		err  error
	}{
		{"nil", nil},
		{"validation", opErr(400, &types.ValidationException{Message: aws.String(msgInputTooLong)})},
		{"throttle", opErr(429, &types.ThrottlingException{Message: aws.String(msgRequestsLong)})},
		{"midstream", &types.ThrottlingException{Message: aws.String(msgTokens)}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sink = classify.Classify(bc.err)
				}
			})
		})
	}
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	errs := map[string]error{
		"nil":        nil,
		"validation": opErr(400, &types.ValidationException{Message: aws.String(msgInputTooLong)}),
		"throttle":   opErr(429, &types.ThrottlingException{Message: aws.String(msgRequestsLong)}),
		"transport":  sendErr(msgErr("connection reset by peer")),
	}
	for name, err := range errs {
		if n := testing.AllocsPerRun(100, func() { sink = classify.Classify(err) }); n != 0 {
			t.Errorf("%s: %v allocs per Classify", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { sink = withNoOpinion.Classify(err) }); n != 0 {
			t.Errorf("%s: %v allocs per With(...).Classify", name, n)
		}
	}
}

var withNoOpinion = classify.With(noOpinion)

type msgErr string

func (e msgErr) Error() string { return string(e) }
