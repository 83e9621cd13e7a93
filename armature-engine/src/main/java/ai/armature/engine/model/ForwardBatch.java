package ai.armature.engine.model;

/**
 * The work of one forward pass: chunks of tokens from one or more sequences. Sequence {@code s} contributes
 * {@code tokens[tokenStart[s] .. tokenStart[s+1])} at positions {@code startPosition[s], startPosition[s]+1, ...};
 * its K/V go to, and its attention reads from, the slots its {@code blockTables[s]} maps those positions to.
 * Logits are produced only for the last token of each sequence with {@code wantLogits[s]}, in sequence order.
 *
 * <p>Positions before {@code startPosition[s]} must already be in the cache (an earlier chunk, or a shared
 * prefix-cache block).
 */
public record ForwardBatch(int[] tokens, int[] tokenStart, int[] startPosition, int[][] blockTables, boolean[] wantLogits) {

    public ForwardBatch {
        int seqs = startPosition.length;
        if (tokenStart.length != seqs + 1 || blockTables.length != seqs || wantLogits.length != seqs) {
            throw new IllegalArgumentException("inconsistent batch: " + seqs + " sequences");
        }
        if (tokenStart[0] != 0 || tokenStart[seqs] > tokens.length) throw new IllegalArgumentException("bad token ranges");
        for (int s = 0; s < seqs; s++) {
            if (tokenStart[s + 1] <= tokenStart[s]) throw new IllegalArgumentException("sequence " + s + " has no tokens");
        }
    }

    /** One sequence's chunk starting at {@code startPosition}. */
    public static ForwardBatch single(int[] tokens, int startPosition, int[] blockTable, boolean wantLogits) {
        return new ForwardBatch(tokens, new int[]{0, tokens.length}, new int[]{startPosition}, new int[][]{blockTable}, new boolean[]{wantLogits});
    }

    public int sequenceCount() {
        return startPosition.length;
    }

    public int tokenCount() {
        return tokenStart[startPosition.length];
    }

    public int logitRows() {
        int n = 0;
        for (boolean w : wantLogits) if (w) n++;
        return n;
    }
}
