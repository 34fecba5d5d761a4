package tokens

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// Usage is what Bedrock reports a call consumed. For Converse, InputTokens
// excludes the cache reads and writes, which are reported separately; the
// prompt Bedrock processed is [Usage.PromptTokens].
type Usage struct {
	InputTokens           int64
	OutputTokens          int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
}

// PromptTokens is the whole prompt Bedrock processed: input plus cache reads
// and cache writes. It is what an [Estimate]'s input side predicts and what
// calibration compares against.
func (u Usage) PromptTokens() int64 {
	return u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
}

// SettledTokens is what the call finally costs against the TPM quota:
// input + cache writes + output x burndown (rounded up). Cache reads are
// reserved at admission but released at settlement. The result saturates
// in [0, MaxReserveTokens], whatever the reported counts.
func (u Usage) SettledTokens(burndown float64) int64 {
	in := float64(max(u.InputTokens, 0)) + float64(max(u.CacheWriteInputTokens, 0))
	return SaturatingTokens(in + math.Ceil(float64(max(u.OutputTokens, 0))*burndownOrOne(burndown)))
}

// AdmittedTokens is what Bedrock took from the TPM quota when it admitted
// the call, as far as its usage shows: the whole prompt plus maxTokens x
// burndown (rounded up), saturating like SettledTokens.
func (u Usage) AdmittedTokens(maxTokens int, burndown float64) int64 {
	out := math.Ceil(float64(min(max(maxTokens, 0), MaxOutputTokens)) * burndownOrOne(burndown))
	return SaturatingTokens(float64(max(u.PromptTokens(), 0)) + out)
}

// UsageFromConverse converts the usage of a Converse response or of a
// ConverseStream metadata event. It reports false when u is nil or lacks the
// required input or output count.
func UsageFromConverse(u *types.TokenUsage) (Usage, bool) {
	if u == nil || u.InputTokens == nil || u.OutputTokens == nil {
		return Usage{}, false
	}
	out := Usage{InputTokens: int64(*u.InputTokens), OutputTokens: int64(*u.OutputTokens)}
	if u.CacheReadInputTokens != nil {
		out.CacheReadInputTokens = int64(*u.CacheReadInputTokens)
	}
	if u.CacheWriteInputTokens != nil {
		out.CacheWriteInputTokens = int64(*u.CacheWriteInputTokens)
	}
	return out, true
}

// The InvokeModel response headers that carry token counts.
const (
	HeaderInputTokens      = "X-Amzn-Bedrock-Input-Token-Count"
	HeaderOutputTokens     = "X-Amzn-Bedrock-Output-Token-Count"
	HeaderCacheReadTokens  = "X-Amzn-Bedrock-Cache-Read-Input-Token-Count"
	HeaderCacheWriteTokens = "X-Amzn-Bedrock-Cache-Write-Input-Token-Count"
)

// UsageFromHeaders reads the X-Amzn-Bedrock-*-Token-Count headers of an
// InvokeModel response. It reports false unless both the input and the
// output count are present and valid.
func UsageFromHeaders(h http.Header) (Usage, bool) {
	in, ok1 := headerInt(h, HeaderInputTokens)
	out, ok2 := headerInt(h, HeaderOutputTokens)
	if !ok1 || !ok2 {
		return Usage{}, false
	}
	cr, _ := headerInt(h, HeaderCacheReadTokens)
	cw, _ := headerInt(h, HeaderCacheWriteTokens)
	return Usage{InputTokens: in, OutputTokens: out, CacheReadInputTokens: cr, CacheWriteInputTokens: cw}, true
}

func headerInt(h http.Header, key string) (int64, bool) {
	v := h.Get(key)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// InvocationMetricsKey is the member of the last InvokeModelWithResponseStream
// chunk that carries the token counts.
const InvocationMetricsKey = "amazon-bedrock-invocationMetrics"

var invocationMetricsKey = []byte(`"` + InvocationMetricsKey + `"`)

// UsageFromInvocationMetrics reads "amazon-bedrock-invocationMetrics" from the
// JSON of one InvokeModelWithResponseStream chunk. It reports false for
// chunks without the metrics (all but the last), cheaply: chunks that do not
// contain the key are not parsed.
func UsageFromInvocationMetrics(chunkJSON []byte) (Usage, bool) {
	if !bytes.Contains(chunkJSON, invocationMetricsKey) {
		return Usage{}, false
	}
	var c struct {
		M *struct {
			In  *int64 `json:"inputTokenCount"`
			Out *int64 `json:"outputTokenCount"`
			CR  int64  `json:"cacheReadInputTokenCount"`
			CW  int64  `json:"cacheWriteInputTokenCount"`
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if err := json.Unmarshal(chunkJSON, &c); err != nil || c.M == nil || c.M.In == nil || c.M.Out == nil {
		return Usage{}, false
	}
	return Usage{InputTokens: *c.M.In, OutputTokens: *c.M.Out, CacheReadInputTokens: c.M.CR, CacheWriteInputTokens: c.M.CW}, true
}
