/**
 * {@code armature bench load}: a load generator for any OpenAI-compatible server (Armature, llama.cpp's
 * llama-server, vLLM, SGLang, Ollama) that talks only HTTP.
 *
 * <h2>Pieces</h2>
 * {@link ai.armature.bench.Workload}s (synthetic, shared-prefix, multi-turn, Mooncake trace replay) produce
 * {@link ai.armature.bench.Conversation}s; a {@link ai.armature.bench.LoadRunner} releases them by a
 * {@link ai.armature.bench.LoadShape} (closed loop, Poisson open loop, trace timestamps) and sends them through an
 * {@link ai.armature.bench.OpenAiClient} (JDK HttpClient, HTTP/1.1, server-sent events read line by line as they
 * arrive); {@link ai.armature.bench.Summaries} turns the {@link ai.armature.bench.RequestRecord}s into a
 * {@link ai.armature.bench.Summary} (HdrHistogram percentiles); {@link ai.armature.bench.LoadBenchmark} ties it
 * together and writes the JSON report, {@link ai.armature.bench.Charts} (XChart PNGs) and a
 * {@link ai.armature.bench.MarkdownReport}; {@link ai.armature.bench.BenchCompare} sets two reports side by side.
 *
 * <h2>What is measured</h2>
 * TTFT runs from just before the request is handed to the HTTP client to the arrival of the first chunk with
 * non-empty content (text, delta.content or delta.reasoning_content; a chat role-only chunk does not count).
 * Every later content chunk records its gap to the previous one. A chunk may carry several tokens: when usage
 * reports T output tokens over K content chunks with T > K, each gap is divided by (T-1)/(K-1) so that ITL is per
 * token. E2E runs to the end of the stream. Token counts come from {@code usage}
 * ({@code stream_options.include_usage}); cached prompt tokens from {@code usage.prompt_tokens_details.cached_tokens}.
 * Goodput counts successful requests whose TTFT and mean ITL ({@code (e2e - ttft) / (tokens - 1)}) meet the SLOs.
 *
 * <h2>Prompt sizes</h2>
 * Prompts are words from a fixed list of common English words, about one token each in BPE and SentencePiece
 * vocabularies; {@link ai.armature.bench.Calibration} fits tokens-per-word and a per-prompt overhead from two probe
 * requests and the report gives requested against actual prompt tokens. Armature's own tokenizer lives in
 * armature-engine, which this module must not depend on; exact sizing can be added by the CLI constructing a
 * {@link ai.armature.bench.PromptText} from it (not done yet).
 *
 * <h2>Throughput of the tool itself</h2>
 * Against the test-scope fake server streaming one token per SSE event with no delay ({@code FakeServerMain},
 * pinned with {@code taskset -c 0}), the client pinned to one core ({@code taskset -c 1 java ... bench load
 * --isl 16 --osl 20000 --concurrency 16 --max-requests 64 --warmup 16 --no-calibrate}) consumed 98,000-122,000
 * streamed tokens/s on a shared two-core machine (load average 7) while using only about half of its core: the
 * server was the limit. The JDK HttpClient is therefore kept.
 *
 * <h2>JSON report</h2>
 * {@code {schema, created, config{url, model, workload, endpoint, seed, warmup, max_requests, duration_seconds,
 * request_timeout_seconds, ignore_eos, calibration{calibrated, tokens_per_word, overhead_tokens, note}},
 * load, summary, requests[]}}; a sweep has {@code sweep[{load, summary, requests[]}]} instead of the last three.
 * {@code summary}: requests_total, requests_completed, requests_failed, duration_seconds, request_throughput,
 * output_tokens_per_second, total_tokens_per_second, input_tokens, output_tokens, goodput, good_requests,
 * slo_ttft_seconds, slo_itl_seconds, ttft_seconds, itl_seconds, e2e_seconds, tpot_seconds and
 * schedule_lag_seconds (each {count, mean, p50, p90, p99, min, max}), errors_by_kind (http_STATUS, timeout,
 * connection_refused, connection_dropped, malformed, stream_error), prefix_cache_hit_rate,
 * prompt_tokens_requested_mean, prompt_tokens_actual_mean, output_tokens_requested_mean,
 * output_tokens_actual_mean, requests_with_usage. A request: index, tag, endpoint, ok, start_seconds,
 * scheduled_seconds, ttft_seconds, e2e_seconds, content_chunks, tokens_per_chunk_gap, itl_seconds[],
 * prompt_tokens, output_tokens, cached_tokens, requested_prompt_tokens, requested_output_tokens,
 * error{kind, http_status, message}. Undefined values are null.
 */
package ai.armature.bench;
