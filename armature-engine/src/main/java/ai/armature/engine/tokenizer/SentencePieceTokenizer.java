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

    private static final int CACHE_MAX_WORD = 32;
    private static final int CACHE_MAX_ENTRIES = 1 << 16;
    /** Words of up to this many characters are merged with a flat scan; longer ones with the priority queue. */
    private static final int SMALL_WORD = 24;

    private final boolean addSpacePrefix;
    private final int[] byteTokens = new int[256];
    /**
     * Whether no token holds U+2581 after a different character: then no merge can cross the start of a U+2581
     * run, and text can be merged word by word (and cached) with exactly the same result as merging it whole.
     */
    private final boolean wordwise;
    private final TokenTable table;
    /** Every pair of code points that are adjacent in some vocabulary entry. */
    private final BpeMerges adjacentPairs;
    /** Per token, the position of its score in descending order (equal scores share a rank). */
    private final int[] scoreRank;
    private final java.util.concurrent.ConcurrentHashMap<String, int[]> cache = new java.util.concurrent.ConcurrentHashMap<>();

    SentencePieceTokenizer(Vocabulary vocab, boolean addSpacePrefix) {
        super(vocab, null, null);
        if (vocab.scores == null) throw new IllegalArgumentException("a SentencePiece vocabulary needs token scores");
        this.addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++) byteTokens[b] = vocab.id(String.format("<0x%02X>", b));
        boolean ok = true;
        for (String t : vocab.texts) {
            for (int i = t.indexOf(SPACE_MARK, 1); ok && i > 0; i = t.indexOf(SPACE_MARK, i + 1)) {
                if (t.charAt(i - 1) != SPACE_MARK) ok = false;
            }
        }
        this.wordwise = ok;
        this.table = new TokenTable(vocab.texts);
        int pairs = 0;
        for (String t : vocab.texts) pairs += t.length();
        this.adjacentPairs = new BpeMerges(pairs);
        for (String t : vocab.texts) {
            int prevCp = -1;
            for (int i = 0; i < t.length(); ) {
                int cp = t.codePointAt(i);
                if (prevCp >= 0) adjacentPairs.put(prevCp, cp, 0, 0);
                prevCp = cp;
                i += Character.charCount(cp);
            }
        }
        float[] distinct = vocab.scores.clone();
        Arrays.sort(distinct);
        int m = 0;
        for (int i = 0; i < distinct.length; i++) {
            if (m == 0 || Float.compare(distinct[m - 1], distinct[i]) != 0) distinct[m++] = distinct[i];
        }
        this.scoreRank = new int[vocab.size()];
        for (int id = 0; id < scoreRank.length; id++) {
            scoreRank[id] = m - 1 - Arrays.binarySearch(distinct, 0, m, vocab.scores[id]);
        }
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
        String s = new String(cs);
        Workspace ws = new Workspace(n);
        if (!wordwise) {
            encodeLong(s, 0, n, out, ws);
            return;
        }
        int from = 0;
        for (int i = 1; i <= n; i++) {
            if (i == n || (cs[i] == SPACE_MARK && cs[i - 1] != SPACE_MARK)) {
                encodeWord(s, from, i, out, ws);
                from = i;
            }
        }
    }

    private void encodeWord(String s, int from, int to, IntList out, Workspace ws) {
        if (to - from > CACHE_MAX_WORD) {
            encodeLong(s, from, to, out, ws);
            return;
        }
        String key = s.substring(from, to);
        int[] hit = cache.get(key);
        if (hit != null) {
            out.addAll(hit);
            return;
        }
        int before = out.size();
        encodeEscaped(s, from, to, out, ws);
        if (cache.size() >= CACHE_MAX_ENTRIES) cache.clear();
        int[] ids = new int[out.size() - before];
        for (int k = 0; k < ids.length; k++) ids[k] = out.get(before + k);
        cache.put(key, ids);
    }

    /** Arrays for the merge loop, allocated once per fragment and reused for each of its words. */
    private static final class Workspace {
        final int[] startOf, endOf, prev, next, pairRank;
        long[] heap;

        Workspace(int len) {
            startOf = new int[len];
            endOf = new int[len];
            prev = new int[len];
            next = new int[len];
            pairRank = new int[len];
            heap = new long[Math.max(16, len)];
        }
    }

    /**
     * Encodes a long run in independent segments: between two adjacent characters that occur next to each other
     * in no vocabulary entry no merge can ever happen (a merged piece spanning them would contain both), so the
     * run splits there with exactly the same result. This keeps pathological inputs (megabytes without a space)
     * fast and cache-friendly.
     */
    private void encodeLong(String s, int from, int to, IntList out, Workspace ws) {
        int segStart = from;
        int i = from;
        int prevCp = -1;
        while (i < to) {
            int cp = s.codePointAt(i);
            if (prevCp >= 0 && adjacentPairs.get(prevCp, cp) < 0) {
                encodeEscaped(s, segStart, i, out, ws);
                segStart = i;
            }
            prevCp = cp;
            i += Character.charCount(cp);
        }
        encodeEscaped(s, segStart, to, out, ws);
    }

    /**
     * The merge loop over the code-point symbols of already escaped text {@code s[from, to)}. {@code pairRank[k]}
     * is the score rank of merging symbol k with its right neighbour (-1: not a token); a queued entry is live
     * only while that rank is unchanged, so popping needs no vocabulary lookup.
     */
    private void encodeEscaped(String s, int from, int to, IntList out, Workspace ws) {
        int len = to - from;
        if (len == 0) return;
        int[] startOf = ws.startOf;
        int[] endOf = ws.endOf;
        int[] prev = ws.prev;
        int[] next = ws.next;
        int[] pairRank = ws.pairRank;
        int n = 0;
        for (int i = from; i < to; ) {
            int cpLen = Character.isHighSurrogate(s.charAt(i)) && i + 1 < to && Character.isLowSurrogate(s.charAt(i + 1)) ? 2 : 1;
            startOf[n] = i;
            endOf[n] = i + cpLen;
            prev[n] = n - 1;
            next[n] = n + 1;
            n++;
            i += cpLen;
        }
        next[n - 1] = -1;
        if (n <= SMALL_WORD) {
            mergeSmall(s, n, out, ws);
            return;
        }
        long[] heap = ws.heap;
        int hn = 0;
        for (int k = 0; k + 1 < n; k++) {
            int r = rankOf(s, startOf[k], endOf[k + 1]);
            pairRank[k] = r;
            if (r >= 0) heap[hn++] = ((long) r << 32) | k;
        }
        pairRank[n - 1] = -1;
        for (int i = (hn >>> 1) - 1; i >= 0; i--) LongMinHeap.siftDown(heap, hn, i);
        while (hn > 0) {
            long top = heap[0];
            heap[0] = heap[--hn];
            LongMinHeap.siftDown(heap, hn, 0);
            int left = (int) top;
            int rank = (int) (top >>> 32);
            if (endOf[left] < 0 || pairRank[left] != rank) continue; // merged away, or the pair changed
            int right = next[left];
            endOf[left] = endOf[right];
            endOf[right] = -1;
            int after = next[right];
            next[left] = after;
            if (after >= 0) prev[after] = left;
            if (heap.length < hn + 2) heap = ws.heap = Arrays.copyOf(heap, heap.length * 2 + 2);
            int before = prev[left];
            if (before >= 0) {
                int r = rankOf(s, startOf[before], endOf[left]);
                pairRank[before] = r;
                if (r >= 0) {
                    heap[hn] = ((long) r << 32) | before;
                    LongMinHeap.siftUp(heap, hn++);
                }
            }
            int r = after >= 0 ? rankOf(s, startOf[left], endOf[after]) : -1;
            pairRank[left] = r;
            if (r >= 0) {
                heap[hn] = ((long) r << 32) | left;
                LongMinHeap.siftUp(heap, hn++);
            }
        }
        for (int k = 0; k >= 0; k = next[k]) emitPiece(s, startOf[k], endOf[k], out);
    }

    /**
     * The same merge order for short words with a flat scan of compacted arrays: the best score wins, the leftmost
     * on ties (strict comparison), and only the neighbours of a merge are looked up again.
     */
    private void mergeSmall(String s, int n, IntList out, Workspace ws) {
        int[] startOf = ws.startOf, endOf = ws.endOf, rank = ws.pairRank;
        for (int k = 0; k + 1 < n; k++) rank[k] = rankOrMax(s, startOf[k], endOf[k + 1]);
        int m = n;
        while (m > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int k = 0; k + 1 < m; k++) {
                if (rank[k] < bestRank) {
                    bestRank = rank[k];
                    best = k;
                }
            }
            if (best < 0) break;
            endOf[best] = endOf[best + 1];
            System.arraycopy(startOf, best + 2, startOf, best + 1, m - best - 2);
            System.arraycopy(endOf, best + 2, endOf, best + 1, m - best - 2);
            System.arraycopy(rank, best + 2, rank, best + 1, Math.max(0, m - best - 3));
            m--;
            if (best > 0) rank[best - 1] = rankOrMax(s, startOf[best - 1], endOf[best]);
            if (best + 1 < m) rank[best] = rankOrMax(s, startOf[best], endOf[best + 1]);
        }
        for (int k = 0; k < m; k++) emitPiece(s, startOf[k], endOf[k], out);
    }

    private int rankOrMax(String s, int from, int to) {
        int r = rankOf(s, from, to);
        return r < 0 ? Integer.MAX_VALUE : r;
    }

    /** The token of a final piece, or its UTF-8 bytes as byte tokens when it has none. */
    private void emitPiece(String s, int from, int to, IntList out) {
        int id = table.id(s, from, to);
        if (id >= 0) {
            out.add(id);
            return;
        }
        for (byte b : s.substring(from, to).getBytes(StandardCharsets.UTF_8)) {
            int bt = byteTokens[b & 0xFF];
            if (bt >= 0) out.add(bt);
            else if (vocab.unk >= 0) out.add(vocab.unk);
        }
    }

    /** Score rank (0 = highest score) of the token {@code s[from, to)}, or -1 if it is not a token. */
    private int rankOf(String s, int from, int to) {
        int id = table.id(s, from, to);
        return id < 0 ? -1 : scoreRank[id];
    }

}
