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
 * {@code armature bench serving}: throughput of one serving worker (scheduler, paged KV cache, batched forward
 * passes; no HTTP) at several concurrency levels, and time to first token with a cached vs an uncached prefix.
 */
@Command(name = "serving", mixinStandardHelpOptions = true,
        description = {"Throughput of one serving worker (no HTTP) by concurrency, and TTFT with a cached prefix.",
                "Reports aggregate generation and prompt tokens/s per level, and TTFT with a cached",
                "1024-token prefix vs uncached."})
final class ServingBenchCommand implements Callable<Integer> {

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

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    private final AtomicLong ids = new AtomicLong();

    /** One level's figures. */
    record Level(int concurrency, double generationTokensPerSecond, double promptTokensPerSecond, double meanTtftSeconds) {
    }

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1 || outputTokens < 2 || prefixTokens < 16) {
            throw new IllegalArgumentException("need --prompt-tokens >= 1, --output-tokens >= 2 and --prefix-tokens >= 16");
        }
        try (LoadedModel m = LoadedModel.open(model)) {
            int vocab = m.model().config().vocabSize();
            int maxConc = 1;
            for (int c : concurrency) {
                if (c < 1) throw new IllegalArgumentException("concurrency levels must be >= 1");
                maxConc = Math.max(maxConc, c);
            }
            if (Math.max(promptTokens + outputTokens, prefixTokens + 17) > m.model().config().contextLength()) {
                throw new IllegalArgumentException("the requests do not fit the model's context of " + m.model().config().contextLength());
            }
            long tokensNeeded = (long) maxConc * (promptTokens + outputTokens + 32) + 4L * (prefixTokens + 64);
            long kvBytes = tokensNeeded * KvCache.bytesPerBlock(m.model().config(), 1, KvDtype.F16);
            ServingConfig config = ServingConfig.defaults().withMaxBatchedTokens(maxBatchedTokens)
                    .withMaxSeqs(Math.max(maxConc, 4)).withKvCacheMemoryBytes(kvBytes);
            LlamaModelRunner runner = new LlamaModelRunner(m.model(), "bench", new int[0], KvDtype.F16);
            try (ServingEngine engine = new ServingEngine(runner, config)) {
                SplittableRandom random = new SplittableRandom(7);
                runLevel(engine, Math.min(2, maxConc), random, vocab); // warm-up: compiles the hot paths
                List<Level> levels = new ArrayList<>();
                for (int c : concurrency) levels.add(runLevel(engine, c, random, vocab));

                int[] warmPrefix = random.ints(prefixTokens, 0, vocab).toArray();
                ttft(engine, concat(warmPrefix, random.ints(16, 0, vocab).toArray()));
                int[] prefix = random.ints(prefixTokens, 0, vocab).toArray();
                double uncached = ttft(engine, concat(prefix, random.ints(16, 0, vocab).toArray()));
                double cached = ttft(engine, concat(prefix, random.ints(16, 0, vocab).toArray()));
                report(levels, uncached, cached);
            }
        }
        return 0;
    }

    private Level runLevel(ServingEngine engine, int c, SplittableRandom random, int vocab) throws InterruptedException {
        java.util.Queue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        long[] firstToken = new long[c];
        long[] done = new long[c];
        int[] generated = new int[c];
        long[][] tokenTimes = new long[c][outputTokens];
        Thread[] threads = new Thread[c];
        long start = System.nanoTime();
        for (int i = 0; i < c; i++) {
            int idx = i;
            GenerationStream stream = engine.submit(request(random.ints(promptTokens, 0, vocab).toArray(), outputTokens));
            threads[i] = Thread.ofVirtual().start(() -> {
                try (stream) {
                    GenerateOutput out;
                    while ((out = stream.next()) != null) {
                        long now = System.nanoTime();
                        if (out.tokenIds().length > 0 && firstToken[idx] == 0) firstToken[idx] = now;
                        for (int t = 0; t < out.tokenIds().length && generated[idx] < outputTokens; t++) {
                            tokenTimes[idx][generated[idx]++] = now;
                        }
                        if (out.finished()) {
                            if (out.finishReason() == ai.armature.protocol.FinishReason.ERROR) failures.add(out.error());
                            break;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done[idx] = System.nanoTime();
            });
        }
        for (Thread t : threads) t.join();
        if (!failures.isEmpty()) throw new IllegalStateException("a benchmark request failed: " + failures.peek());
        long lastFirst = 0, end = 0, ttftSum = 0;
        for (int i = 0; i < c; i++) {
            lastFirst = Math.max(lastFirst, firstToken[i]);
            end = Math.max(end, done[i]);
            ttftSum += firstToken[i] - start;
        }
        // Prompt phase: until every request has its first token; generation phase: the rest. Only tokens that
        // arrived in the generation phase count towards its rate (early requests decode while later ones prefill).
        int decoded = 0;
        for (int i = 0; i < c; i++) {
            for (int t = 0; t < generated[i]; t++) {
                if (tokenTimes[i][t] > lastFirst) decoded++;
            }
        }
        return new Level(c, decoded / ((end - lastFirst) / 1e9), (double) c * promptTokens / ((lastFirst - start) / 1e9),
                ttftSum / 1e9 / c);
    }

    private double ttft(ServingEngine engine, int[] prompt) throws InterruptedException {
        long start = System.nanoTime();
        try (GenerationStream stream = engine.submit(request(prompt, 2))) {
            GenerateOutput out;
            while ((out = stream.next()) != null) {
                if (out.tokenIds().length > 0) return (System.nanoTime() - start) / 1e9;
                if (out.finished()) break;
            }
        }
        throw new IllegalStateException("the request produced no token");
    }

    private GenerateRequest request(int[] prompt, int maxTokens) {
        return new GenerateRequest("bench-" + ids.incrementAndGet(), prompt, SamplingParams.GREEDY,
                new StopConditions(maxTokens, new int[0], true, false));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private void report(List<Level> levels, double uncached, double cached) {
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode o = mapper.createObjectNode();
            o.put("model", model.toString());
            o.put("prompt_tokens", promptTokens);
            o.put("output_tokens", outputTokens);
            ArrayNode arr = o.putArray("levels");
            for (Level l : levels) {
                ObjectNode n = arr.addObject();
                n.put("concurrency", l.concurrency());
                n.put("generation_tokens_per_second", l.generationTokensPerSecond());
                n.put("prompt_tokens_per_second", l.promptTokensPerSecond());
                n.put("mean_ttft_seconds", l.meanTtftSeconds());
            }
            o.put("prefix_tokens", prefixTokens);
            o.put("ttft_uncached_seconds", uncached);
            o.put("ttft_cached_prefix_seconds", cached);
            System.out.println(o.toPrettyString());
            return;
        }
        System.out.printf("model: %s, %d prompt + %d output tokens per request%n%n", model, promptTokens, outputTokens);
        System.out.println("| concurrency | generation tok/s | prompt tok/s | mean TTFT s | generation vs c=1 |");
        System.out.println("|---:|---:|---:|---:|---:|");
        double base = levels.getFirst().generationTokensPerSecond();
        for (Level l : levels) {
            System.out.printf("| %d | %.1f | %.1f | %.3f | %.2fx |%n", l.concurrency(), l.generationTokensPerSecond(),
                    l.promptTokensPerSecond(), l.meanTtftSeconds(), l.generationTokensPerSecond() / base);
        }
        System.out.printf("%nTTFT with a %d-token prefix: uncached %.3f s, cached %.3f s (%.1f%% of uncached)%n",
                prefixTokens, uncached, cached, 100 * cached / uncached);
    }
}
