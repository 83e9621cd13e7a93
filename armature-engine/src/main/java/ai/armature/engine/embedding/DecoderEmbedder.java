package ai.armature.engine.embedding;

import ai.armature.engine.model.ForwardBatch;
import ai.armature.engine.model.ForwardPass;
import ai.armature.engine.model.KvCache;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;

import java.util.List;

/**
 * Embeddings from a decoder (Llama-family) model: each input runs through the causal forward pass and the
 * final-normed hidden state of its last token, the one that sees the whole input, is L2-normalized (LAST pooling,
 * as vLLM pools decoder embedding models such as e5-mistral and gte-Qwen). Inputs are batched in one forward pass
 * over a private KV cache sized for the batch. One instance per thread.
 */
public final class DecoderEmbedder implements Embedder, AutoCloseable {

    private static final int BLOCK = 16;

    private final LlamaModel model;
    private final ForwardPass pass;
    private KvCache cache;
    private int cacheBlocks;

    public DecoderEmbedder(LlamaModel model) {
        this.model = model;
        this.pass = new ForwardPass(model);
    }

    @Override
    public int dimensions() {
        return model.config().dim();
    }

    @Override
    public int maxInputTokens() {
        return model.config().contextLength();
    }

    @Override
    public float[][] embed(List<int[]> inputs) {
        int seqs = inputs.size();
        int blocks = 0, total = 0;
        int[] tokenStart = new int[seqs + 1];
        int[][] tables = new int[seqs][];
        for (int s = 0; s < seqs; s++) {
            int[] t = inputs.get(s);
            if (t.length == 0) throw new IllegalArgumentException("input " + s + " has no tokens");
            if (t.length > model.config().contextLength()) {
                throw new IllegalArgumentException("input " + s + " has " + t.length + " tokens; the model's context is " + model.config().contextLength());
            }
            int need = (t.length + BLOCK - 1) / BLOCK;
            tables[s] = new int[need];
            for (int b = 0; b < need; b++) tables[s][b] = blocks + b;
            blocks += need;
            tokenStart[s] = total;
            total += t.length;
        }
        tokenStart[seqs] = total;
        if (blocks > cacheBlocks) {
            if (cache != null) cache.close();
            cacheBlocks = Math.max(blocks, cacheBlocks * 2);
            cache = new KvCache(model.config(), cacheBlocks, BLOCK, KvDtype.F32);
        }
        int[] tokens = new int[total];
        for (int s = 0; s < seqs; s++) System.arraycopy(inputs.get(s), 0, tokens, tokenStart[s], inputs.get(s).length);
        boolean[] want = new boolean[seqs];
        java.util.Arrays.fill(want, true);
        int dim = model.config().dim();
        float[] hidden = new float[seqs * dim];
        pass.hiddenStates(new ForwardBatch(tokens, tokenStart, new int[seqs], tables, want), cache, hidden);
        float[][] out = new float[seqs][];
        for (int s = 0; s < seqs; s++) {
            out[s] = java.util.Arrays.copyOfRange(hidden, s * dim, (s + 1) * dim);
            BertEncoder.normalize(out[s]);
        }
        return out;
    }

    @Override
    public void close() {
        if (cache != null) cache.close();
    }
}
