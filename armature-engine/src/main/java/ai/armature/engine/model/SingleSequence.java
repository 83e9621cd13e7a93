package ai.armature.engine.model;

/**
 * One sequence run alone, for {@code armature run} and the engine benchmark: a private KV cache laid out as one
 * contiguous run of blocks, prompt processing in chunks, then one token per decode step. The serving worker
 * does not use this; it batches many sequences over a shared, paged cache.
 */
public final class SingleSequence implements AutoCloseable {

    private static final int BLOCK_SIZE = 16;

    private final ForwardPass pass;
    private final KvCache cache;
    private final int[] blockTable;
    private final int capacity;
    private final int chunk;
    private final float[] logits;
    private int position;

    /**
     * @param capacity the most tokens (prompt and generated) this sequence will hold
     * @param chunk    the most prompt tokens per forward pass
     */
    public SingleSequence(LlamaModel model, int capacity, int chunk, KvDtype dtype) {
        ModelConfig c = model.config();
        if (capacity > c.contextLength()) {
            throw new IllegalArgumentException(capacity + " tokens exceed the model's context of " + c.contextLength());
        }
        this.pass = new ForwardPass(model);
        this.capacity = capacity;
        this.chunk = chunk;
        int blocks = (capacity + BLOCK_SIZE - 1) / BLOCK_SIZE;
        this.cache = new KvCache(c, blocks, BLOCK_SIZE, dtype);
        this.blockTable = new int[blocks];
        for (int i = 0; i < blocks; i++) blockTable[i] = i;
        this.logits = new float[c.vocabSize()];
    }

    /** Processes prompt tokens after what is already cached; returns the logits after the last one (a shared array). */
    public float[] prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("the prompt is empty");
        checkRoom(tokens.length);
        for (int from = 0; from < tokens.length; from += chunk) {
            int to = Math.min(tokens.length, from + chunk);
            int[] part = java.util.Arrays.copyOfRange(tokens, from, to);
            pass.forward(ForwardBatch.single(part, position, blockTable, to == tokens.length), cache, logits);
            position += part.length;
        }
        return logits;
    }

    /** Processes one generated token; returns the logits for the next (a shared array). */
    public float[] decode(int token) {
        checkRoom(1);
        pass.forward(ForwardBatch.single(new int[]{token}, position, blockTable, true), cache, logits);
        position++;
        return logits;
    }

    public int position() {
        return position;
    }

    /** Forgets the sequence so the cache can be reused from position 0. */
    public void reset() {
        position = 0;
    }

    private void checkRoom(int more) {
        if (position + more > capacity) {
            throw new IllegalArgumentException("sequence would hold " + (position + more) + " tokens, more than its capacity of " + capacity);
        }
    }

    @Override
    public void close() {
        cache.close();
    }
}
