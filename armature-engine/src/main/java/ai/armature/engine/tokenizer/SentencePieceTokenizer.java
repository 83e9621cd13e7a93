package ai.armature.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * SentencePiece BPE with scores (GGUF {@code llama} kind: Llama 2, Mistral v0.1, Phi-3, Baichuan): spaces become
 * U+2581, a space is prefixed to text at the start and after atomic tokens ({@code add_space_prefix}), and
 * adjacent pieces are merged highest score first (leftmost on ties) while the merged text is in the vocabulary.
 * Characters left without a token fall back to {@code <0xNN>} byte tokens. Decoding turns U+2581 back into
 * spaces and drops the prefixed space of the first rendered piece.
 */
final class SentencePieceTokenizer extends BaseTokenizer {

    private static final char SPACE_MARK = '\u2581';

    private final boolean addSpacePrefix;
    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        super(vocab, null, null);
        if (vocab.scores == null) throw new IllegalArgumentException("a SentencePiece vocabulary needs token scores");
        this.addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++) byteTokens[b] = vocab.id(String.format("<0x%02X>", b));
        initPieces();
    }

    @Override
    protected byte[] pieceBytes(int id) {
        String t = vocab.texts[id];
        if (vocab.types[id] == TokenType.BYTE && t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
            return new byte[]{(byte) Integer.parseInt(t.substring(3, 5), 16)};
        }
        return t.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected boolean stripsLeadingSpace() {
        return addSpacePrefix;
    }

    @Override
    protected void encodeFragment(String text, int start, int end, boolean afterAtomic, IntList out) {
        int len = end - start + (addSpacePrefix && afterAtomic ? 1 : 0);
        char[] cs = new char[len];
        int n = 0;
        if (addSpacePrefix && afterAtomic) cs[n++] = SPACE_MARK;
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            cs[n++] = c == ' ' ? SPACE_MARK : c;
        }
        encodeEscaped(new String(cs), out);
    }

    /** The merge loop over code-point symbols of already escaped text. */
    private void encodeEscaped(String s, IntList out) {
        int len = s.length();
        if (len == 0) return;
        int[] startOf = new int[len];
        int[] endOf = new int[len];
        int[] prev = new int[len];
        int[] next = new int[len];
        int n = 0;
        for (int i = 0; i < len; ) {
            int cpLen = Character.isHighSurrogate(s.charAt(i)) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
            startOf[n] = i;
            endOf[n] = i + cpLen;
            prev[n] = n - 1;
            next[n] = n + 1;
            n++;
            i += cpLen;
        }
        next[n - 1] = -1;
        long[] heap = new long[Math.max(16, n)];
        int hn = 0;
        for (int k = 0; k + 1 < n; k++) {
            long key = bigramKey(s, startOf[k], endOf[k + 1], k);
            if (key != -1) {
                if (hn == heap.length) heap = Arrays.copyOf(heap, hn * 2);
                heap[hn] = key;
                siftUp(heap, hn++);
            }
        }
        while (hn > 0) {
            long top = heap[0];
            heap[0] = heap[--hn];
            siftDown(heap, hn, 0);
            int left = (int) top;
            if (endOf[left] < 0) continue; // merged away
            int right = next[left];
            if (right < 0) continue;
            long key = bigramKey(s, startOf[left], endOf[right], left);
            if (key != top) continue; // stale: the pair changed since it was queued
            endOf[left] = endOf[right];
            endOf[right] = -1;
            int after = next[right];
            next[left] = after;
            if (after >= 0) prev[after] = left;
            if (heap.length < hn + 2) heap = Arrays.copyOf(heap, heap.length * 2 + 2);
            int before = prev[left];
            if (before >= 0) {
                long k2 = bigramKey(s, startOf[before], endOf[left], before);
                if (k2 != -1) {
                    heap[hn] = k2;
                    siftUp(heap, hn++);
                }
            }
            if (after >= 0) {
                long k2 = bigramKey(s, startOf[left], endOf[after], left);
                if (k2 != -1) {
                    heap[hn] = k2;
                    siftUp(heap, hn++);
                }
            }
        }
        for (int k = 0; k >= 0; k = next[k]) {
            String piece = s.substring(startOf[k], endOf[k]);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
            } else {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                    int bt = byteTokens[b & 0xFF];
                    if (bt >= 0) out.add(bt);
                    else if (vocab.unk >= 0) out.add(vocab.unk);
                }
            }
        }
    }

    /**
     * Heap key of merging {@code s[from,to)} at symbol {@code left}: higher scores first, then the leftmost, as an
     * unsigned-ordered long; -1 if the merged text is not a token.
     */
    private long bigramKey(String s, int from, int to, int left) {
        int id = vocab.id(s.substring(from, to));
        if (id < 0) return -1;
        int bits = Float.floatToIntBits(vocab.scores[id]);
        int ascending = bits ^ ((bits >> 31) | 0x80000000); // unsigned order == float order
        long descending = ~ascending & 0xFFFFFFFFL;
        long key = (descending << 32) | left;
        return key == -1 ? -2 : key; // -1 is reserved; (max, 0xFFFFFFFF) cannot occur for real inputs
    }

    private static void siftUp(long[] h, int i) {
        long x = h[i];
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (Long.compareUnsigned(h[p], x) <= 0) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = x;
    }

    private static void siftDown(long[] h, int n, int i) {
        if (n == 0) return;
        long x = h[i];
        while (true) {
            int c = 2 * i + 1;
            if (c >= n) break;
            if (c + 1 < n && Long.compareUnsigned(h[c + 1], h[c]) < 0) c++;
            if (Long.compareUnsigned(h[c], x) >= 0) break;
            h[i] = h[c];
            i = c;
        }
        h[i] = x;
    }
}
