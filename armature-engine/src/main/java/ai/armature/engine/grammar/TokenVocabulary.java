package ai.armature.engine.grammar;

import ai.armature.engine.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * A model's vocabulary as constrained decoding sees it: the bytes each token adds to the output, the tokens
 * sorted by those bytes (so a walk over the sorted list with each token's common-prefix length with the one
 * before visits the same nodes as a walk over a trie, and a rejected prefix skips its whole range), and the
 * end-of-generation ids, which are allowed exactly when the grammar is complete. Tokens with no bytes (control
 * tokens) are never allowed. {@code size} is the model's logit count, which may exceed the tokenizer's
 * vocabulary (padded embeddings); ids beyond the tokenizer are never allowed. Immutable.
 */
public final class TokenVocabulary {

    final int size;
    final byte[][] bytes;
    /** Token ids with bytes, in lexicographic order of their (unsigned) bytes. */
    final int[] sorted;
    /** {@code sortedBytes[i] = bytes[sorted[i]]}, kept together for locality in walks. */
    final byte[][] sortedBytes;
    /** Common prefix length of sorted token i with sorted token i - 1 (0 for the first). */
    final int[] lcp;
    final int maxTokenBytes;
    final int[] endOfGeneration;
    /** Bits of every token that has bytes. */
    final long[] normal;
    /**
     * The tokens' bytes as a trie laid out flat in depth-first order (node 0 is the root): {@code nodeByte},
     * {@code nodeDepth} (bytes from the root, the root 0), {@code nodeToken} (the sorted index of the first token
     * ending there, or -1) and {@code nodeTokens} (how many tokens end there: different ids may share bytes),
     * {@code nodeEnd} (the node after its subtree, to skip it) and {@code nodeFirstToken}/{@code nodeLastToken}
     * (the sorted indices of the tokens under it, as [first, last)).
     */
    final byte[] nodeByte;
    final int[] nodeDepth, nodeToken, nodeTokens, nodeEnd, nodeFirstToken, nodeLastToken;

    private TokenVocabulary(int size, byte[][] bytes, int[] endOfGeneration) {
        this.size = size;
        this.bytes = bytes;
        this.endOfGeneration = endOfGeneration.clone();
        int count = 0;
        for (byte[] b : bytes) if (b != null && b.length > 0) count++;
        Integer[] ids = new Integer[count];
        int k = 0;
        for (int id = 0; id < bytes.length; id++) if (bytes[id] != null && bytes[id].length > 0) ids[k++] = id;
        Arrays.sort(ids, (a, b) -> {
            int c = Arrays.compareUnsigned(bytes[a], bytes[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        this.sorted = new int[count];
        this.sortedBytes = new byte[count][];
        this.lcp = new int[count];
        int max = 0;
        this.normal = new long[(size + 63) >>> 6];
        for (int i = 0; i < count; i++) {
            sorted[i] = ids[i];
            sortedBytes[i] = bytes[ids[i]];
            max = Math.max(max, sortedBytes[i].length);
            normal[ids[i] >>> 6] |= 1L << ids[i];
            if (i > 0) {
                byte[] a = sortedBytes[i - 1], b = sortedBytes[i];
                int m = Arrays.mismatch(a, b);
                lcp[i] = m < 0 ? a.length : m;
            }
        }
        this.maxTokenBytes = max;
        // Trie in depth-first order: token i adds nodes for its bytes beyond its common prefix with token i - 1.
        int nodes = 1;
        for (int i = 0; i < count; i++) nodes += sortedBytes[i].length - lcp[i];
        nodeByte = new byte[nodes];
        nodeDepth = new int[nodes];
        nodeToken = new int[nodes];
        nodeTokens = new int[nodes];
        nodeEnd = new int[nodes];
        nodeFirstToken = new int[nodes];
        nodeLastToken = new int[nodes];
        java.util.Arrays.fill(nodeToken, -1);
        int[] path = new int[max + 1]; // path[d] = node at depth d on the current branch
        int n = 1;
        for (int i = 0; i < count; i++) {
            byte[] b = sortedBytes[i];
            // Close the nodes below the common prefix: their subtrees end here.
            for (int d = lcp[i] + 1; d <= max && i > 0 && d <= sortedBytes[i - 1].length; d++) {
                nodeEnd[path[d]] = n;
                nodeLastToken[path[d]] = i;
            }
            for (int d = lcp[i] + 1; d <= b.length; d++) {
                nodeByte[n] = b[d - 1];
                nodeDepth[n] = d;
                nodeFirstToken[n] = i;
                path[d] = n;
                n++;
            }
            int at = path[b.length];
            if (nodeToken[at] < 0) nodeToken[at] = i;
            nodeTokens[at]++;
        }
        for (int d = 1; count > 0 && d <= sortedBytes[count - 1].length; d++) {
            nodeEnd[path[d]] = n;
            nodeLastToken[path[d]] = count;
        }
        nodeEnd[0] = n;
        nodeLastToken[0] = count;
    }

    /**
     * The vocabulary of {@code tokenizer} for a model with {@code modelVocabSize} logits; every id the tokenizer
     * says ends generation is an end-of-generation id.
     */
    public static TokenVocabulary of(Tokenizer tokenizer, int modelVocabSize) {
        int n = tokenizer.vocabSize();
        if (modelVocabSize < n) {
            throw new IllegalArgumentException("the model has " + modelVocabSize + " logits but the tokenizer " + n + " tokens");
        }
        byte[][] bytes = new byte[modelVocabSize][];
        int[] eog = new int[8];
        int e = 0;
        for (int id = 0; id < n; id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                if (e == eog.length) eog = Arrays.copyOf(eog, e * 2);
                eog[e++] = id;
                continue;
            }
            bytes[id] = tokenizer.tokenBytes(id);
        }
        return new TokenVocabulary(modelVocabSize, bytes, Arrays.copyOf(eog, e));
    }

    /** A vocabulary given directly: {@code bytes[id]} (null or empty: never allowed), and the end ids. */
    public static TokenVocabulary of(byte[][] bytes, int[] endOfGeneration) {
        return new TokenVocabulary(bytes.length, bytes.clone(), endOfGeneration);
    }

    /** Logits per row: the length masks cover. */
    public int size() {
        return size;
    }

    /** Longs in a mask over this vocabulary. */
    public int maskWords() {
        return (size + 63) >>> 6;
    }

    /** The bytes of token {@code id}, or null if it never matches text. */
    public byte[] bytes(int id) {
        return bytes[id];
    }

    public int[] endOfGenerationIds() {
        return endOfGeneration.clone();
    }

    boolean isEndOfGeneration(int id) {
        for (int e : endOfGeneration) if (e == id) return true;
        return false;
    }
}
