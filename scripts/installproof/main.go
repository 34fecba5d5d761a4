// Command installproof is written as a user outside this repository would
// write it: it installs the guard on an aws.Config, with its pacing shared by
// a fleet through Redis. scripts/install-proof.sh (run by .ci/run) copies this
// file into an empty module in a temporary directory and builds it with
// GOWORK=off against a file-system module proxy made from the working tree,
// which proves that github.com/bedrockguard/bedrockguard and its
// pacing/redisstore module install at their next tagged version. In the
// repository it is built as part of the scripts module, so it also compiles
// on every test run. It is never run.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/redis/go-redis/v9"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/pacing/redisstore"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// Every process of the fleet paces in the same Redis, so together they
	// stay within one quota; while Redis is unreachable each paces locally.
	store := redisstore.New(redis.NewClient(&redis.Options{Addr: "localhost:6379"}))
	if _, err := bedrockguard.Install(&cfg, bedrockguard.WithStore(store)); err != nil {
		log.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg) // guarded, like every client made from cfg
	log.Printf("Bedrock Runtime client for %s ready", client.Options().Region)
}
