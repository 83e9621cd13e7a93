package ai.armature.cli;

import ai.armature.serving.worker.LoadedModel;
import ai.armature.engine.model.KvCache;
import ai.armature.engine.model.KvDtype;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.runner.LlamaModelRunner;
import ai.armature.cli.ConcurrencyLevelRun.Level;
import ai.armature.engine.tensor.Parallel;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code armature bench serving}: batched decode of one serving worker (scheduler, paged KV cache, batched forward
 * passes; no HTTP) at several concurrency levels, read as llama-batched-bench's S_TG, and time to first token with a
 * cached vs an uncached prefix. Before measuring it runs every level once with short requests, unmeasured, so the
 * JIT has compiled every batch size's code path before the first measured level (c=1) starts.
 */
@Command(name = "serving", mixinStandardHelpOptions = true,
        description = {"Batched decode (S_TG) of one worker, no HTTP, by concurrency; TTFT, cached prefix.",
                "Per level: decode tok/s (S_TG, as llama-batched-bench's: tokens that arrive",
                "once every request has its first token, over that time), prompt tok/s and",
                "mean TTFT; then TTFT with a cached 1024-token prefix vs uncached. Before",
                "measuring, an unmeasured warm-up runs every level once with " + ServingBenchCommand.WARMUP_PROMPT_TOKENS + "-token",
                "prompts and " + ServingBenchCommand.WARMUP_OUTPUT_TOKENS + " output tokens, so no measured level runs on code the",
                "JIT is still compiling."})
final class ServingBenchCommand implements Callable<Integer> {

    static final int WARMUP_PROMPT_TOKENS = 16;
    static final int WARMUP_OUTPUT_TOKENS = 8;

    @Option(names = "--model", required = true, description = "A GGUF model (e.g. from: armature demo-model --preset 1b).")
    Path model;

    @Option(names = "--concurrency", defaultValue = "1,2,4,8,16", split = ",", description = "Concurrency levels. Default: ${DEFAULT-VALUE}.")
    int[] concurrency;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt tokens per request. Default: ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--output-tokens", defaultValue = "64", description = "Generated tokens per request. Default: ${DEFAULT-VALUE}.")
    int outputTokens;

    @Option(names = "--prefix-tokens", defaultValue = "1024", description = "Shared prefix length for the TTFT test. Default: ${DEFAULT-VALUE}.")
    int prefixTokens;

    @Option(names = "--max-batched-tokens", defaultValue = "512", description = "Scheduler token budget per step. Default: ${DEFAULT-VALUE}.")
    int maxBatchedTokens;

    @Option(names = "--threads", description = {"Kernel threads (as llama-batched-bench -t), 1 to the cores.",
            "Default: all cores, or -Darmature.threads."})
    Integer threads;

    @Option(names = "--no-warmup", description = {"Measure from a cold start: no warm-up before the levels",
            "and the TTFT test (the first levels then include JIT",
            "compilation, as a freshly started worker's first requests do)."})
    boolean noWarmup;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    private final AtomicLong ids = new AtomicLong();

    /** What the warm-up ran (nothing with --no-warmup). */
    record Warmup(boolean ran, int requests, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1 || outputTokens < 2 || prefixTokens < 16) {
            throw new IllegalArgumentException("need --prompt-tokens >= 1, --output-tokens >= 2 and --prefix-tokens >= 16");
        }
        if (threads != null) KernelThreads.check(threads);
        int maxConc = 1;
        for (int c : concurrency) {
            if (c < 1) throw new IllegalArgumentException("concurrency levels must be >= 1");
            maxConc = Math.max(maxConc, c);
        }
        try (LoadedModel m = LoadedModel.open(model)) {
            int vocab = m.model().config().vocabSize();
            int context = m.model().config().contextLength();
            if (Math.max(Math.max(promptTokens + outputTokens, prefixTokens + 17), WARMUP_PROMPT_TOKENS + WARMUP_OUTPUT_TOKENS) > context) {
                throw new IllegalArgumentException("the requests do not fit the model's context of " + context);
            }
            long tokensNeeded = (long) maxConc * (promptTokens + outputTokens + 32) + 4L * (prefixTokens + 64);
            long kvBytes = tokensNeeded * KvCache.bytesPerBlock(m.model().config(), 1, KvDtype.F16);
            ServingConfig config = ServingConfig.defaults().withMaxBatchedTokens(maxBatchedTokens)
                    .withMaxSeqs(Math.max(maxConc, 4)).withKvCacheMemoryBytes(kvBytes);
            Parallel.Pool pool = threads == null ? null : Parallel.newPool(threads, "armature-bench-kernels");
            LlamaModelRunner runner;
            try {
                runner = new LlamaModelRunner(m.model(), "bench", new int[0], KvDtype.F16, pool); // owns the pool from here
            } catch (RuntimeException e) {
                if (pool != null) pool.close();
                throw e;
            }
            try (ServingEngine engine = new ServingEngine(runner, config)) {
                SplittableRandom random = new SplittableRandom(7);
                Warmup warmup = noWarmup ? new Warmup(false, 0, 0) : warmUp(engine, random, vocab);
                List<Level> levels = new ArrayList<>();
                for (int c : concurrency) {
                    levels.add(ConcurrencyLevelRun.run(engine, c, promptTokens, outputTokens, random, vocab, "bench", ids));
                }
                if (!noWarmup) {
                    int[] warmPrefix = random.ints(prefixTokens, 0, vocab).toArray();
                    ttft(engine, concat(warmPrefix, random.ints(16, 0, vocab).toArray()));
                }
                int[] prefix = random.ints(prefixTokens, 0, vocab).toArray();
                double uncached = ttft(engine, concat(prefix, random.ints(16, 0, vocab).toArray()));
                double cached = ttft(engine, concat(prefix, random.ints(16, 0, vocab).toArray()));
                report(runner.kernelThreads(), warmup, levels, uncached, cached);
            }
        }
        return 0;
    }

    /** Every configured level once with short requests, so every batch size's kernels are compiled; not measured. */
    private Warmup warmUp(ServingEngine engine, SplittableRandom random, int vocab) throws InterruptedException {
        System.err.printf("warming up (not measured): concurrency %s, %d-token prompts, %d output tokens...%n",
                join(warmupOrder(concurrency)), WARMUP_PROMPT_TOKENS, WARMUP_OUTPUT_TOKENS);
        long start = System.nanoTime();
        int requests = 0;
        for (int c : warmupOrder(concurrency)) {
            requests += ConcurrencyLevelRun.run(engine, c, WARMUP_PROMPT_TOKENS, WARMUP_OUTPUT_TOKENS, random, vocab, "warmup", ids).requests();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.err.printf("warm-up done: %d requests in %.1f s%n", requests, seconds);
        return new Warmup(true, requests, seconds);
    }

    /**
     * The levels largest first, so the multi-vector kernels are compiled before the one-vector one is hot: with the
     * one-vector level first, C2 more than once compiled Q8_0's two-vector product with its vector operations
     * falling back to boxed Java code (about 300 CPU ms per token at 2-8 sequences instead of about 55).
     */
    static int[] warmupOrder(int[] levels) {
        return java.util.Arrays.stream(levels).distinct().boxed().sorted(java.util.Comparator.reverseOrder()).mapToInt(Integer::intValue).toArray();
    }

    private double ttft(ServingEngine engine, int[] prompt) throws InterruptedException {
        long start = System.nanoTime();
        GenerateRequest request = new GenerateRequest("ttft-" + ids.incrementAndGet(), prompt, SamplingParams.GREEDY,
                new StopConditions(2, new int[0], true, false));
        try (GenerationStream stream = engine.submit(request)) {
            GenerateOutput out;
            while ((out = stream.next()) != null) {
                if (out.tokenIds().length > 0) return (System.nanoTime() - start) / 1e9;
                if (out.finished()) break;
            }
        }
        throw new IllegalStateException("the request produced no token");
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static String join(int[] values) {
        StringBuilder b = new StringBuilder();
        for (int v : values) b.append(b.isEmpty() ? "" : ",").append(v);
        return b.toString();
    }

    private void report(int kernelThreads, Warmup warmup, List<Level> levels, double uncached, double cached) {
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("model", model.toString());
            o.put("threads", kernelThreads);
            o.put("prompt_tokens", promptTokens);
            o.put("output_tokens", outputTokens);
            ObjectNode w = o.putObject("warmup");
            w.put("ran", warmup.ran());
            w.put("requests", warmup.requests());
            w.put("prompt_tokens", warmup.ran() ? WARMUP_PROMPT_TOKENS : 0);
            w.put("output_tokens", warmup.ran() ? WARMUP_OUTPUT_TOKENS : 0);
            w.put("seconds", warmup.seconds());
            ArrayNode arr = o.putArray("levels");
            for (Level l : levels) {
                ObjectNode n = arr.addObject();
                n.put("concurrency", l.concurrency());
                n.put("requests", l.requests());
                n.put("generated_tokens", l.generatedTokens());
                n.put("decode_tokens", l.decodeTokens());
                n.put("generation_tokens_per_second", l.decodeTokensPerSecond());
                n.put("prompt_tokens_per_second", l.promptTokensPerSecond());
                n.put("mean_ttft_seconds", l.meanTtftSeconds());
                n.put("decode_cpu_seconds_per_token", l.decodeCpuSecondsPerToken());
                if (Double.isNaN(l.jitCompileSeconds())) n.putNull("jit_compile_seconds");
                else n.put("jit_compile_seconds", l.jitCompileSeconds());
            }
            o.put("prefix_tokens", prefixTokens);
            o.put("ttft_uncached_seconds", uncached);
            o.put("ttft_cached_prefix_seconds", cached);
            System.out.println(o.toPrettyString());
            return;
        }
        System.out.printf("model: %s, %d prompt + %d output tokens per request, %d kernel threads%n", model, promptTokens, outputTokens, kernelThreads);
        System.out.println(warmup.ran()
                ? String.format("warm-up (not measured): %d requests, %d-token prompts and %d output tokens, %.1f s", warmup.requests(),
                WARMUP_PROMPT_TOKENS, WARMUP_OUTPUT_TOKENS, warmup.seconds())
                : "warm-up: none (--no-warmup)");
        System.out.println();
        System.out.println("| concurrency | decode tok/s (S_TG) | prompt tok/s | mean TTFT s | decode vs c=1 | decode CPU ms/token | JIT s |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|");
        double base = levels.getFirst().decodeTokensPerSecond();
        for (Level l : levels) {
            System.out.printf("| %d | %.1f | %.1f | %.3f | %.2fx | %.1f | %.2f |%n", l.concurrency(), l.decodeTokensPerSecond(),
                    l.promptTokensPerSecond(), l.meanTtftSeconds(), l.decodeTokensPerSecond() / base,
                    1e3 * l.decodeCpuSecondsPerToken(), l.jitCompileSeconds());
        }
        System.out.printf("%nTTFT with a %d-token prefix: uncached %.3f s, cached %.3f s (%.1f%% of uncached)%n",
                prefixTokens, uncached, cached, 100 * cached / uncached);
    }
}
