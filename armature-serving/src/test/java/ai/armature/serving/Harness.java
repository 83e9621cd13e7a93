package ai.armature.serving;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.runner.ModelRunner;

/** Drives an {@link EngineCore} on the test thread and collects every request's outputs. */
final class Harness implements AutoCloseable {

    final EngineCore core;
    final Map<String, List<GenerateOutput>> outputs = new LinkedHashMap<>();

    Harness(ModelRunner runner, ServingConfig config, KvEventPublisher events) {
        core = new EngineCore(runner, config, events);
    }

    Harness(ModelRunner runner, ServingConfig config) {
        this(runner, config, KvEventPublisher.NONE);
    }

    /** A config whose cache holds {@code cacheTokens} tokens with a runner of 1 byte per token. */
    static ServingConfig config(int blockSize, int maxBatchedTokens, int maxSeqs, int cacheTokens) {
        return new ServingConfig(blockSize, maxBatchedTokens, maxSeqs, (long) cacheTokens, 1000, null);
    }

    void add(GenerateRequest r) {
        core.validate(r);
        List<GenerateOutput> list = new ArrayList<>();
        outputs.put(r.requestId(), list);
        core.add(r, list::add);
    }

    void runToIdle() {
        int guard = 0;
        while (core.hasWork()) {
            core.step();
            if (++guard > 200_000) throw new AssertionError("the engine did not finish: livelock?");
        }
    }

    /** Closes the core's KV tiers (their copies finish first). */
    @Override
    public void close() {
        core.close();
    }

    int[] tokens(String id) {
        List<GenerateOutput> list = outputs.get(id);
        int n = 0;
        for (GenerateOutput o : list) n += o.tokenIds().length;
        int[] all = new int[n];
        int i = 0;
        for (GenerateOutput o : list) for (int t : o.tokenIds()) all[i++] = t;
        return all;
    }

    GenerateOutput last(String id) {
        List<GenerateOutput> list = outputs.get(id);
        return list.isEmpty() ? null : list.getLast();
    }

    boolean finished(String id) {
        GenerateOutput l = last(id);
        return l != null && l.finished();
    }

    static GenerateRequest greedy(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, SamplingParams.GREEDY, new StopConditions(maxTokens, null, true, false));
    }

    static int[] randomPrompt(SplittableRandom rnd, int length, int vocab) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = rnd.nextInt(vocab);
        return p;
    }

    /** Every id the tokenizer says ends generation. */
    static int[] eos(ai.armature.engine.tokenizer.Tokenizer t) {
        return java.util.stream.IntStream.range(0, t.vocabSize()).filter(t::isEndOfGeneration).toArray();
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
