package ai.armature.planner.profile;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.EngineCore;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;
import ai.armature.serving.runner.ModelRunner;

/**
 * Sweeps one worker (the real scheduler and KV cache over a runner, driven step by step on this thread) and writes
 * down its {@link PerformanceProfile}:
 * <ul>
 *   <li>prefill: for each input length, one fresh prompt (no prefix-cache hit) asking for one token, timed from
 *       submission to its first token: chunked by the worker's token budget, exactly as it would be served;</li>
 *   <li>decode: for each batch size B and context C, B distinct prompts of C + 1 tokens are prefilled first (and
 *       stay cached), then submitted again: every block but the one holding the last token is a cache hit, so the
 *       first step computes one position per sequence with C tokens in context (a decode step), and the next ones
 *       are decode steps too; the step time is the mean over {@code decodeSteps} such steps. Points whose batch
 *       does not fit in the KV cache are left unmeasured.</li>
 * </ul>
 * With the mocker on a {@link SimClock} the times are its performance formula, exactly, and the sweep takes
 * seconds of CPU whatever the simulated durations; with a real runner the steps really run (warm-up rounds first,
 * the median of {@code repeats} measurements per point).
 */
public final class Profiler {

    /** What to measure. Context lengths are rounded down to whole KV blocks. */
    public record Sweep(int[] inputLengths, int[] batchSizes, int[] contextTokens, int decodeSteps, int repeats, int warmups) {
        public Sweep {
            inputLengths = sortedPositive("input lengths", inputLengths);
            batchSizes = sortedPositive("batch sizes", batchSizes);
            contextTokens = sortedPositive("context lengths", contextTokens);
            if (decodeSteps < 1) throw new IllegalArgumentException("--decode-steps must be >= 1, got " + decodeSteps);
            if (repeats < 1) throw new IllegalArgumentException("--repeats must be >= 1, got " + repeats);
            if (warmups < 0) throw new IllegalArgumentException("--warmups must be >= 0, got " + warmups);
        }

        private static int[] sortedPositive(String what, int[] values) {
            TreeSet<Integer> set = new TreeSet<>();
            for (int v : values) {
                if (v < 1) throw new IllegalArgumentException(what + " must be >= 1, got " + v);
                set.add(v);
            }
            if (set.isEmpty()) throw new IllegalArgumentException("give at least one of the " + what);
            return set.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    private final ModelRunner runner;
    private final EngineCore core;
    private final LongSupplier clock;
    private final String source;
    private final boolean virtual;
    private final ServingConfig config;
    private final SplittableRandom random = new SplittableRandom(17);
    private long nextId;

    private Profiler(ModelRunner runner, ServingConfig config, LongSupplier clock, String source, boolean virtual) {
        this.runner = runner;
        this.config = config;
        this.core = new EngineCore(runner, config, KvEventPublisher.NONE);
        this.clock = clock;
        this.source = source;
        this.virtual = virtual;
    }

    /** Profiles the mocker with {@code profile} on a virtual clock. */
    public static Profiler mock(MockProfile profile, ServingConfig config) {
        SimClock clock = new SimClock();
        return new Profiler(new MockModelRunner(profile, clock), config, clock::nanoTime, "mock:" + profile.name(), true);
    }

    /** Profiles a real runner in wall-clock time; {@code source} names it in the profile. */
    public static Profiler realTime(ModelRunner runner, ServingConfig config, String source) {
        return new Profiler(runner, config, System::nanoTime, source, false);
    }

    /** The limits of the worker being profiled (its KV cache is sized as a served worker's would be). */
    public PerformanceProfile.Limits limits() {
        return new PerformanceProfile.Limits(config.maxBatchedTokens(), config.maxSeqs(), core.blockSize(),
                (long) core.totalBlocks() * core.blockSize(), core.maxContextTokens());
    }

    /**
     * The default sweep for this worker: input lengths 16, 24, 32, 48, ... up to the context; batch sizes 1, 2, 4, ...
     * up to {@code --max-seqs}; contexts 64, 128, ... up to the context. With a real runner it stops at 1024 tokens
     * and 16 sequences (each point really runs) and takes the median of 3 after 2 warm-up rounds.
     */
    public Sweep defaultSweep() {
        var l = limits();
        int maxInput = (int) Math.min(l.maxContextTokens() - 1, l.kvCacheTokens() - 1);
        int maxBatch = Math.min(l.maxSeqs(), l.maxBatchedTokens());
        int steps = virtual ? 1 : 8;
        int maxContext = l.maxContextTokens() - steps - 2;
        if (!virtual) {
            maxInput = Math.min(maxInput, 1024);
            maxBatch = Math.min(maxBatch, 16);
            maxContext = Math.min(maxContext, 1024);
        }
        List<Integer> inputs = new ArrayList<>();
        for (long p = 16; p <= maxInput; p *= 2) {
            inputs.add((int) p);
            if (p * 3 / 2 <= maxInput) inputs.add((int) (p * 3 / 2));
        }
        if (inputs.isEmpty() || inputs.getLast() != maxInput) inputs.add(maxInput);
        List<Integer> batches = new ArrayList<>();
        for (int b = 1; b <= maxBatch; b *= 2) batches.add(b);
        if (batches.getLast() != maxBatch) batches.add(maxBatch);
        List<Integer> contexts = new ArrayList<>();
        int bs = l.blockSize();
        for (long c = 64; c <= maxContext; c *= 2) contexts.add((int) c);
        int last = maxContext / bs * bs;
        if (last >= bs && (contexts.isEmpty() || contexts.getLast() < last)) contexts.add(last);
        if (contexts.isEmpty()) contexts.add(bs);
        return new Sweep(ints(inputs), ints(batches), ints(contexts), steps, virtual ? 1 : 3, virtual ? 0 : 2);
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Runs the sweep; {@code progress} gets one line per measured point. */
    public PerformanceProfile run(Sweep sweep, Consumer<String> progress) {
        var l = limits();
        for (int w = 0; w < sweep.warmups(); w++) {
            prefillSeconds(Math.min(sweep.inputLengths()[0], l.maxContextTokens() - 1));
            int c = blockContext(sweep.contextTokens()[0], l.blockSize());
            if (c > 0 && fits(sweep.batchSizes()[0], c, sweep.decodeSteps(), l)) decodeSeconds(sweep.batchSizes()[0], c, sweep.decodeSteps());
        }
        List<PerformanceProfile.PrefillPoint> prefill = new ArrayList<>();
        for (int len : sweep.inputLengths()) {
            if (len >= l.maxContextTokens() || len > l.kvCacheTokens()) {
                progress.accept(String.format("prefill %d tokens: skipped (the context is %d tokens, the KV cache %d)", len,
                        l.maxContextTokens(), l.kvCacheTokens()));
                continue;
            }
            double[] runs = new double[sweep.repeats()];
            for (int r = 0; r < runs.length; r++) runs[r] = prefillSeconds(len);
            var pt = new PerformanceProfile.PrefillPoint(len, median(runs));
            prefill.add(pt);
            progress.accept(String.format("prefill %d tokens: %.6f s (%.0f tokens/s)", len, pt.seconds(), pt.tokensPerSecond()));
        }
        if (prefill.isEmpty()) throw new IllegalArgumentException("no input length of the sweep fits this worker's context");

        int[] contexts = Arrays.stream(sweep.contextTokens()).map(c -> blockContext(c, l.blockSize())).filter(c -> c > 0).distinct().toArray();
        if (contexts.length == 0) throw new IllegalArgumentException("every context length of the sweep is below one KV block (" + l.blockSize() + " tokens)");
        int[] batches = Arrays.stream(sweep.batchSizes()).filter(b -> b <= l.maxSeqs() && b <= l.maxBatchedTokens()).toArray();
        if (batches.length == 0) throw new IllegalArgumentException("every batch size of the sweep exceeds --max-seqs or --max-batched-tokens");
        double[][] itl = new double[batches.length][contexts.length];
        for (int i = 0; i < batches.length; i++) {
            for (int j = 0; j < contexts.length; j++) {
                int b = batches[i], c = contexts[j];
                if (c + sweep.decodeSteps() + 1 >= l.maxContextTokens() || !fits(b, c, sweep.decodeSteps(), l)) {
                    itl[i][j] = Double.NaN;
                    continue;
                }
                double[] runs = new double[sweep.repeats()];
                for (int r = 0; r < runs.length; r++) runs[r] = decodeSeconds(b, c, sweep.decodeSteps());
                itl[i][j] = median(runs);
                progress.accept(String.format("decode batch %d, context %d: %.6f s per step", b, c, itl[i][j]));
            }
        }
        return new PerformanceProfile(source, virtual ? "virtual" : "real", l, prefill,
                new PerformanceProfile.DecodeGrid(batches, contexts, itl));
    }

    /** Closes the runner (frees its KV cache). */
    public void close() {
        runner.close();
    }

    private static int blockContext(int c, int blockSize) {
        return c / blockSize * blockSize;
    }

    /** Whether B prompts of C + 1 tokens and their decode steps fit in the cache at once, with no eviction. */
    private static boolean fits(int batch, int context, int steps, PerformanceProfile.Limits l) {
        long blocksPerSeq = (context + steps + 1 + l.blockSize() - 1) / l.blockSize() + 1;
        return batch * blocksPerSeq * l.blockSize() <= l.kvCacheTokens();
    }

    private double prefillSeconds(int length) {
        core.resetPrefixCache();
        int[] prompt = prompt(length);
        long start = clock.getAsLong();
        long[] first = {-1};
        String id = "profile-" + nextId++;
        core.add(request(id, prompt, 1), out -> {
            if (first[0] < 0 && out.tokenIds().length > 0) first[0] = clock.getAsLong();
            check(out);
        });
        runUntilIdle();
        if (first[0] < 0) throw new IllegalStateException("the worker produced no token for a " + length + "-token prompt");
        return (first[0] - start) / 1e9;
    }

    private double decodeSeconds(int batch, int context, int steps) {
        core.resetPrefixCache();
        int[][] prompts = new int[batch][];
        for (int i = 0; i < batch; i++) {
            prompts[i] = prompt(context + 1);
            core.add(request("profile-" + nextId++, prompts[i], 1), Profiler::check);
        }
        runUntilIdle();
        for (int i = 0; i < batch; i++) core.add(request("profile-" + nextId++, prompts[i], steps), Profiler::check);
        long stepsBefore = core.steps();
        long start = clock.getAsLong();
        runUntilIdle();
        long end = clock.getAsLong();
        long ran = core.steps() - stepsBefore;
        if (ran != steps) {
            throw new IllegalStateException("decode at batch " + batch + ", context " + context + " took " + ran + " steps instead of "
                    + steps + ": the batch was not scheduled together (check --max-seqs and --max-batched-tokens)");
        }
        return (end - start) / 1e9 / steps;
    }

    private void runUntilIdle() {
        while (core.hasWork()) core.step();
    }

    private static void check(GenerateOutput out) {
        if (out.finished() && out.finishReason() != FinishReason.LENGTH) {
            throw new IllegalStateException("a profiling request ended with " + out.finishReason()
                    + (out.error() == null ? "" : ": " + out.error()));
        }
    }

    private GenerateRequest request(String id, int[] prompt, int maxTokens) {
        return new GenerateRequest(id, prompt, SamplingParams.GREEDY, new StopConditions(maxTokens, null, true, false));
    }

    /** A prompt no other shares a block with: its first token is drawn fresh. */
    private int[] prompt(int length) {
        int vocab = runner.vocabSize();
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = random.nextInt(vocab);
        return p;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
