module github.com/bedrockguard/bedrockguard

go 1.26
