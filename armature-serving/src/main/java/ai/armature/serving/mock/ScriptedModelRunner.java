package ai.armature.serving.mock;

import ai.armature.protocol.TokenLogprob;
import ai.armature.serving.runner.ModelRunner;
import ai.armature.serving.runner.SampledToken;
import ai.armature.serving.runner.ScheduledSequence;

import java.util.List;
import java.util.function.Function;

/**
 * A runner that emits given token ids, for tests of what happens to a model's output after sampling (tool-call and
 * reasoning parsers, stop handling) through the real scheduler: {@code script} maps a sequence's prompt to the
 * tokens it generates, then the first end-of-generation id. A constrained sequence gets its scripted token when
 * the constraint allows it, else the lowest allowed id. No math, no time.
 */
public final class ScriptedModelRunner implements ModelRunner {

    private final int vocabSize;
    private final int maxContext;
    private final int[] eos;
    private final Function<int[], int[]> script;
    private int numBlocks = -1;

    public ScriptedModelRunner(int vocabSize, int maxContext, int[] eos, Function<int[], int[]> script) {
        if (eos.length == 0) throw new IllegalArgumentException("the scripted runner needs an end-of-generation id");
        this.vocabSize = vocabSize;
        this.maxContext = maxContext;
        this.eos = eos.clone();
        this.script = script;
    }

    @Override
    public String modelName() {
        return "scripted";
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int maxContextTokens() {
        return maxContext;
    }

    @Override
    public int[] endOfGenerationTokenIds() {
        return eos.clone();
    }

    @Override
    public long kvBytesPerToken() {
        return 16;
    }

    @Override
    public void allocateKvCache(int numBlocks, int blockSize) {
        if (this.numBlocks >= 0) throw new IllegalStateException("the KV cache is already allocated");
        this.numBlocks = numBlocks;
    }

    @Override
    public SampledToken[] execute(List<ScheduledSequence> batch) {
        SampledToken[] out = new SampledToken[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            ScheduledSequence s = batch.get(i);
            if (!s.sample()) continue;
            int[] prompt = java.util.Arrays.copyOf(s.tokens(), s.promptLength());
            int[] tokens = script.apply(prompt);
            int k = s.length() - s.promptLength();
            int token = k < tokens.length ? tokens[k] : eos[0];
            if (s.allowed() != null) {
                long[] bits = s.allowed().await();
                if (s.allowed().count() == 0) {
                    out[i] = new SampledToken(-1, null);
                    continue;
                }
                if ((bits[token >>> 6] & (1L << token)) == 0) {
                    int w = 0;
                    while (bits[w] == 0) w++;
                    token = (w << 6) + Long.numberOfTrailingZeros(bits[w]);
                }
            }
            TokenLogprob lp = s.logprobs() >= 0 ? new TokenLogprob(token, 0f, new int[0], new float[0]) : null;
            out[i] = new SampledToken(token, lp);
        }
        return out;
    }

    @Override
    public void close() {
        numBlocks = -1;
    }
}
