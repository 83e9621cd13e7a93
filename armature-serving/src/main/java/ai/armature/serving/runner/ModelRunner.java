package ai.armature.serving.runner;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * The model behind a serving worker: the real batched forward pass, or a simulation. The worker's scheduler
 * decides what to compute and where its K/V lives; the runner owns the K/V storage and the math.
 *
 * <h2>Life cycle</h2>
 * The engine reads the description ({@link #modelName()} ... {@link #kvBytesPerToken()}), sizes the cache, calls
 * {@link #allocateKvCache} exactly once, then calls {@link #execute} once per step, always from the same thread,
 * and {@link #close} at the end. The runner keeps no per-sequence state between steps other than the K/V in the
 * cache (a sequence may be preempted and recomputed, and blocks are reused by other sequences).
 *
 * <h2>What {@link #execute} must do, for every {@link ScheduledSequence} s of the step</h2>
 * <ol>
 *   <li>For each position {@code p} in {@code [s.start(), s.start() + s.count())}, with token {@code s.tokens()[p]}:
 *       compute its K and V at every layer and write them into KV slot
 *       {@code slot(p) = s.blockTable()[p / B] * B + p % B} (B = block size). Slots of other positions must not be
 *       written. The scheduler guarantees these slots belong to this sequence alone for the step.</li>
 *   <li>Position {@code p} attends over positions {@code [0, p]} of the same sequence, reading their K/V through the
 *       same block table (positions {@code < s.start()} were written in earlier steps; those in
 *       {@code [s.start(), p]} in this step: write before you read, per layer).</li>
 *   <li>If {@code s.sample()}: compute logits for the last position {@code s.start() + s.count() - 1} only, apply
 *       {@code s.sampling()} (temperature, top-k/p, min-p, penalties over {@code s.tokens()}, see
 *       {@link ScheduledSequence}) with randomness from {@code s.random()} only, never choosing one of
 *       {@code s.forbiddenTokens()}, and return the chosen token, with its {@link ai.armature.protocol.TokenLogprob}
 *       when {@code s.logprobs() >= 0} (that many alternatives). If {@code s.allowed()} is not null, choose only a
 *       token it allows (wait for it after the forward pass), or return token id -1 when it allows none.</li>
 *   <li>If {@code s.promptLogprobsOut() != null}: compute logits at every position of the chunk too and fill in the
 *       prompt tokens' logprobs (see {@link ScheduledSequence}).</li>
 * </ol>
 * Every weight matrix should be read once per step for all the step's tokens (matrix times matrix over the batch).
 * The result for one sequence must not depend on which other sequences share the step.
 *
 * <p>Shapes to expect: a decode is {@code count == 1, sample == true}; a prompt is computed in one or more chunks
 * ({@code count >= 1}), only the last of which samples; a preempted sequence comes back as a prefill over its
 * prompt and generated tokens. A sequence appears at most once per step. The arrays in a {@link ScheduledSequence}
 * are the engine's live arrays: read them during {@link #execute} only, never keep or modify them (except
 * {@code promptLogprobsOut}, which is there to be written).
 *
 * <h2>Moving blocks (KV tiers, disaggregation)</h2>
 * A runner whose {@link #kvLayout()} is present can copy one block's K and V, every layer, out to memory
 * ({@link #exportBlock}) and back in ({@link #importBlock}), in the bytes its layout names. These two may be called
 * from any thread, concurrently with {@link #execute}, for blocks that the running step neither writes nor reads
 * for a sequence that is being computed: the KV cache manager exports only cached blocks (never written again)
 * and imports only into blocks no scheduled sequence holds yet.
 */
public interface ModelRunner extends AutoCloseable {

    /** The model's name; it salts the prefix-cache block hashes, so two different models never share blocks. */
    String modelName();

    int vocabSize();

    /** The longest sequence (prompt + generated) the model supports, in tokens. */
    int maxContextTokens();

    /** Token ids that end generation (EOS, end-of-turn), unless a request ignores EOS. */
    int[] endOfGenerationTokenIds();

    /** Bytes of KV cache one token takes over all layers (K and V), in the runner's KV dtype: sizes the pool. */
    long kvBytesPerToken();

    /**
     * The KV budget in bytes this runner picks when none is configured (a simulated GPU knows its free HBM), or -1
     * to let the engine apply its default rule (see {@code KvCacheSizing}).
     */
    default long suggestedKvCacheBytes() {
        return -1;
    }

    /**
     * Allocates (once) the KV storage for {@code numBlocks} blocks of {@code blockSize} token slots each: slot ids
     * run from 0 to {@code numBlocks * blockSize - 1}. The KV cache manager owns which block belongs to whom.
     */
    void allocateKvCache(int numBlocks, int blockSize);

    /**
     * Runs one step (see the class comment). Returns an array as long as {@code batch}: element i is the token
     * sampled for {@code batch.get(i)} when it samples, else null. An exception fails the step's sequences only.
     */
    SampledToken[] execute(List<ScheduledSequence> batch);

    /**
     * The byte layout of one KV block, once {@link #allocateKvCache} ran; empty if this runner cannot export and
     * import blocks (then a worker refuses KV tiers and KV transfer with a clear message).
     */
    default Optional<KvLayout> kvLayout() {
        return Optional.empty();
    }

    /** Copies block {@code blockId}'s K and V (every layer) to {@code dst} at {@code offset}: {@code kvLayout().blockBytes()} bytes. */
    default void exportBlock(int blockId, MemorySegment dst, long offset) {
        throw new UnsupportedOperationException(modelName() + ": this runner cannot export KV blocks");
    }

    /** Overwrites block {@code blockId} with {@code kvLayout().blockBytes()} bytes from {@code src} at {@code offset}, as {@link #exportBlock} wrote them. */
    default void importBlock(MemorySegment src, long offset, int blockId) {
        throw new UnsupportedOperationException(modelName() + ": this runner cannot import KV blocks");
    }

    /** The K and V of {@code blockIds}, in that order, with this runner's layout (a heap copy). */
    default KvBlocks exportBlocks(int[] blockIds) {
        KvLayout layout = kvLayout().orElseThrow(() -> new UnsupportedOperationException(modelName() + ": this runner cannot export KV blocks"));
        MemorySegment data = MemorySegment.ofArray(new byte[Math.toIntExact(blockIds.length * layout.blockBytes())]);
        for (int i = 0; i < blockIds.length; i++) exportBlock(blockIds[i], data, i * layout.blockBytes());
        return new KvBlocks(layout, blockIds.length, data);
    }

    /**
     * Writes {@code blocks} into {@code blockIds} (block i of the payload into {@code blockIds[i]}). Refuses, with
     * IllegalArgumentException and before writing anything, a payload of another layout or of another block count.
     */
    default void importBlocks(KvBlocks blocks, int[] blockIds) {
        KvLayout layout = kvLayout().orElseThrow(() -> new UnsupportedOperationException(modelName() + ": this runner cannot import KV blocks"));
        layout.requireSame(blocks.layout(), "the KV payload");
        if (blocks.count() != blockIds.length) {
            throw new IllegalArgumentException("the KV payload holds " + blocks.count() + " blocks but " + blockIds.length + " block ids were given");
        }
        for (int i = 0; i < blockIds.length; i++) importBlock(blocks.data(), i * layout.blockBytes(), blockIds[i]);
    }

    /**
     * Overwrites block {@code blockId} with block {@code sourceBlock} of {@code source}, a runner of the same layout in
     * this process (a KV transfer that never leaves memory). By default through one block's off-heap buffer.
     */
    default void copyBlockFrom(ModelRunner source, int sourceBlock, int blockId) {
        KvLayout layout = kvLayout().orElseThrow(() -> new UnsupportedOperationException(modelName() + ": this runner cannot import KV blocks"));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment one = arena.allocate(layout.blockBytes());
            source.exportBlock(sourceBlock, one, 0);
            importBlock(one, 0, blockId);
        }
    }

    /**
     * The clock the engine times steps with (nanoseconds, arbitrary origin): wall-clock time by default; a simulated
     * runner answers with its own clock, so busy time is the simulated time its steps took.
     */
    default long nanoTime() {
        return System.nanoTime();
    }

    /** Frees the KV storage and anything else the runner holds. */
    @Override
    void close();
}
