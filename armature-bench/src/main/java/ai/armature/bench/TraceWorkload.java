package ai.armature.bench;

import java.util.List;

/**
 * Replays a {@link MooncakeTrace}: each entry becomes one completions request scheduled at its timestamp
 * multiplied by {@code timeFactor} (a speedup of 2 is a factor of 0.5). The prompt is synthesised block by block:
 * the block with hash id h is always the same words (its id encoded in its first words, the rest drawn from a
 * generator seeded with h), so equal ids give equal token blocks and different ids give different ones. A
 * request's last block may be partial; it is then a prefix of that id's full block. Tokens beyond the hashed
 * blocks are unique to the request.
 *
 * <p>{@code blockTokens} shrinks the trace for small machines: each 512-token block becomes that many tokens and
 * input lengths scale by the same ratio, so the prefix-sharing structure is kept while prompts get shorter.
 */
public final class TraceWorkload implements Workload {

    private final List<MooncakeTrace.Entry> entries;
    private final double timeFactor;
    private final int blockTokens;
    private final long seed;
    private final PromptText text;
    private final int outputCap;
    private int next;

    /**
     * @param timeFactor  multiplies trace timestamps ({@code --time-scale / --speedup})
     * @param blockTokens tokens per synthesised hash block (512 keeps the trace's lengths)
     * @param outputCap   caps each request's output length (0 for no cap)
     */
    public TraceWorkload(MooncakeTrace trace, double timeFactor, int blockTokens, long seed, PromptText text,
                         int outputCap) {
        if (!(timeFactor >= 0) || blockTokens < 1) {
            throw new IllegalArgumentException("the time factor must be >= 0 and trace block tokens >= 1");
        }
        this.entries = trace.entries();
        this.timeFactor = timeFactor;
        this.blockTokens = blockTokens;
        this.seed = seed;
        this.text = text;
        this.outputCap = outputCap;
    }

    @Override
    public synchronized Conversation next() {
        if (next >= entries.size()) {
            return null;
        }
        int index = next++;
        MooncakeTrace.Entry e = entries.get(index);
        long offset = Math.round(e.timestampMs() * 1e6 * timeFactor);
        int inputTokens = scaledInput(e);
        int out = outputCap > 0 ? Math.min(outputCap, Math.max(1, e.outputLength())) : Math.max(1, e.outputLength());
        return Conversation.single(RequestSpec.completion(prompt(index, e), out, inputTokens, "trace-" + index), offset);
    }

    int scaledInput(MooncakeTrace.Entry e) {
        return Math.max(1, (int) Math.round((double) e.inputLength() * blockTokens / MooncakeTrace.BLOCK_TOKENS));
    }

    /** The synthesised prompt for trace line {@code index}. */
    String prompt(int index, MooncakeTrace.Entry e) {
        int total = text.wordsForPiece(scaledInput(e));
        int perBlock = Math.max(1, text.wordsForPiece(blockTokens));
        StringBuilder sb = new StringBuilder(total * 6);
        int written = 0;
        for (long id : e.hashIds()) {
            if (written >= total) {
                break;
            }
            int n = Math.min(perBlock, total - written);
            PromptText.appendWords(sb, seed, id, n);
            written += n;
        }
        if (written < total) {
            // Ids above any hash id keep the unhashed tail unique to this request.
            PromptText.appendWords(sb, seed, (1L << 44) + index, total - written);
        }
        return sb.isEmpty() ? "" : sb.substring(1);
    }

    /** Words in each synthesised block (tests hash prompts in blocks of this many words). */
    int wordsPerBlock() {
        return Math.max(1, text.wordsForPiece(blockTokens));
    }

    @Override
    public Endpoint endpoint() {
        return Endpoint.COMPLETIONS;
    }

    @Override
    public long totalRequests() {
        return entries.size();
    }

    @Override
    public String describe() {
        return "trace requests=" + entries.size() + " time-factor=" + timeFactor + " block-tokens=" + blockTokens;
    }
}
