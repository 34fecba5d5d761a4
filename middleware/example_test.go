package middleware_test

import (
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/tokens"
)

// New builds the guard's middleware from its parts; bedrockguard.Install
// does this for you. AddTo is an APIOption.
func ExampleNew() {
	lim, _ := pacing.NewLimiter(pacing.Config{})
	est, _ := tokens.New(tokens.Options{})
	eng, err := middleware.New(middleware.Config{
		Limiter:   lim,
		Estimator: est,
		Limits:    func(string) pacing.Limits { return pacing.Limits{TokensPerWindow: 200_000} },
	})
	if err != nil {
		panic(err)
	}
	client := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1"}, func(o *bedrockruntime.Options) {
		o.APIOptions = append(o.APIOptions, eng.AddTo)
	})
	_ = client
}
