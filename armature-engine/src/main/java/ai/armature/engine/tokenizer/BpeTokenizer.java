package ai.armature.engine.tokenizer;

import java.text.Normalizer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2 style; GGUF {@code gpt2} kind and Hugging Face {@code BPE} with a ByteLevel
 * pre-tokenizer): text is split into words by the family's pre-tokenizer, each word's UTF-8 bytes become
 * byte-level symbols, and merges are applied lowest rank first (leftmost on ties) with a priority queue over a
 * linked list of symbols, so long words cost O(n log n), never O(n^2). With {@code ignoreMerges} (Llama 3) a word
 * that is itself a vocabulary entry is taken whole. Thread-safe; a bounded cache remembers short words.
 */
final class BpeTokenizer extends BaseTokenizer {

    private static final int CACHE_MAX_WORD = 32;
    private static final int CACHE_MAX_ENTRIES = 1 << 16;
    /** Words up to this many bytes are merged with a flat scan; longer ones with the priority queue. */
    private static final int SMALL_WORD = 24;

    private final PreTokenizer preTokenizer;
    private final BpeMerges merges;
    private final int[] byteToId = new int[256];
    private final boolean ignoreMerges;
    private final boolean nfc;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param mergePairs merges in rank order, each as the two byte-level strings
     * @param nfc        whether text is NFC-normalized first (Qwen's normalizer)
     */
    BpeTokenizer(Vocabulary vocab, String[][] mergePairs, PreTokenizer preTokenizer, boolean ignoreMerges, boolean nfc,
                 BitSet lstrip, BitSet rstrip) {
        super(vocab, lstrip, rstrip);
        this.preTokenizer = preTokenizer;
        this.ignoreMerges = ignoreMerges;
        this.nfc = nfc;
        for (int b = 0; b < 256; b++) byteToId[b] = vocab.id(String.valueOf(ByteLevel.BYTE_TO_CHAR[b]));
        this.merges = new BpeMerges(mergePairs.length);
        for (int rank = 0; rank < mergePairs.length; rank++) {
            String[] p = mergePairs[rank];
            int l = vocab.id(p[0]);
            int r = vocab.id(p[1]);
            int m = vocab.id(p[0] + p[1]);
            if (l >= 0 && r >= 0 && m >= 0) merges.put(l, r, rank, m);
        }
        initPieces();
    }

    @Override
    protected byte[] pieceBytes(int id) {
        return ByteLevel.decode(vocab.texts[id]);
    }

    @Override
    protected boolean stripsLeadingSpace() {
        return false;
    }

    @Override
    protected void encodeFragment(String text, int start, int end, boolean afterAtomic, IntList out) {
        String s = text;
        if (nfc) {
            String sub = text.substring(start, end);
            if (!Normalizer.isNormalized(sub, Normalizer.Form.NFC)) {
                s = Normalizer.normalize(sub, Normalizer.Form.NFC);
                start = 0;
                end = s.length();
            }
        }
        final String str = s;
        Workspace ws = new Workspace();
        preTokenizer.split(str, start, end, (ws0, we) -> encodeWord(str, ws0, we, ws, out));
    }

    /** Scratch arrays reused across the words of one fragment. */
    private static final class Workspace {
        byte[] bytes = new byte[64];
        int[] sym = new int[64];
        int[] prev = new int[64];
        int[] next = new int[64];
        int[] pairRank = new int[64];
        int[] pairMerged = new int[64];
        long[] heap = new long[128];

        void ensure(int n) {
            if (bytes.length < n) {
                int cap = Math.max(n, bytes.length * 2);
                bytes = new byte[cap];
                sym = new int[cap];
                prev = new int[cap];
                next = new int[cap];
                pairRank = new int[cap];
                pairMerged = new int[cap];
            }
        }
    }

    private void encodeWord(String s, int start, int end, Workspace ws, IntList out) {
        boolean cacheable = end - start <= CACHE_MAX_WORD;
        String key = null;
        if (cacheable) {
            key = s.substring(start, end);
            int[] hit = cache.get(key);
            if (hit != null) {
                out.addAll(hit);
                return;
            }
        }
        int nBytes = utf8(s, start, end, ws);
        int before = out.size();
        if (ignoreMerges) {
            char[] cs = new char[nBytes];
            for (int k = 0; k < nBytes; k++) cs[k] = ByteLevel.BYTE_TO_CHAR[ws.bytes[k] & 0xFF];
            int id = vocab.id(new String(cs));
            if (id >= 0) out.add(id);
            else merge(ws, nBytes, out);
        } else {
            merge(ws, nBytes, out);
        }
        if (cacheable) {
            if (cache.size() >= CACHE_MAX_ENTRIES) cache.clear();
            int[] ids = new int[out.size() - before];
            for (int k = 0; k < ids.length; k++) ids[k] = out.get(before + k);
            cache.put(key, ids);
        }
    }

    /** UTF-8 bytes of {@code s[start,end)} into the workspace; returns the count. Lone surrogates become U+FFFD. */
    private static int utf8(String s, int start, int end, Workspace ws) {
        ws.ensure((end - start) * 3);
        byte[] b = ws.bytes;
        int n = 0;
        for (int i = start; i < end; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                b[n++] = (byte) c;
            } else if (c < 0x800) {
                b[n++] = (byte) (0xC0 | (c >> 6));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b[n++] = (byte) (0xF0 | (cp >> 18));
                b[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                b[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[n++] = (byte) (0x80 | (cp & 0x3F));
            } else {
                if (Character.isSurrogate(c)) c = '\uFFFD';
                b[n++] = (byte) (0xE0 | (c >> 12));
                b[n++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[n++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return n;
    }

    /** Applies merges to the byte symbols of one word and appends the resulting ids. */
    private void merge(Workspace ws, int n, IntList out) {
        int[] sym = ws.sym, prev = ws.prev, next = ws.next;
        for (int k = 0; k < n; k++) {
            sym[k] = byteToId[ws.bytes[k] & 0xFF];
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
        }
        if (n == 1) {
            if (sym[0] >= 0) out.add(sym[0]);
            return;
        }
        if (n <= SMALL_WORD) {
            mergeSmall(ws, n, out);
            return;
        }
        // pairRank[k] / pairMerged[k]: the merge of symbol k with its right neighbour (rank -1: none). A queued
        // entry is live only while its rank still matches, so popping needs no hash lookup.
        int[] pairRank = ws.pairRank;
        int[] pairMerged = ws.pairMerged;
        long[] heap = ws.heap;
        if (heap.length < n) heap = ws.heap = new long[Math.max(n, heap.length * 2)];
        int hn = 0;
        for (int k = 0; k + 1 < n; k++) {
            setPair(sym, pairRank, pairMerged, k, k + 1);
            if (pairRank[k] >= 0) heap[hn++] = ((long) pairRank[k] << 32) | k;
        }
        pairRank[n - 1] = -1;
        for (int i = (hn >>> 1) - 1; i >= 0; i--) LongMinHeap.siftDown(heap, hn, i);
        while (hn > 0) {
            long top = heap[0];
            heap[0] = heap[--hn];
            LongMinHeap.siftDown(heap, hn, 0);
            int left = (int) top;
            int rank = (int) (top >>> 32);
            if (sym[left] < 0 || pairRank[left] != rank) continue; // merged away, or the pair changed
            int right = next[left];
            sym[left] = pairMerged[left];
            sym[right] = -2;
            int after = next[right];
            next[left] = after;
            if (after >= 0) prev[after] = left;
            if (heap.length < hn + 2) heap = ws.heap = Arrays.copyOf(heap, heap.length * 2 + 2);
            int before = prev[left];
            if (before >= 0) {
                setPair(sym, pairRank, pairMerged, before, left);
                if (pairRank[before] >= 0) {
                    heap[hn] = ((long) pairRank[before] << 32) | before;
                    LongMinHeap.siftUp(heap, hn++);
                }
            }
            if (after >= 0) {
                setPair(sym, pairRank, pairMerged, left, after);
                if (pairRank[left] >= 0) {
                    heap[hn] = ((long) pairRank[left] << 32) | left;
                    LongMinHeap.siftUp(heap, hn++);
                }
            } else {
                pairRank[left] = -1;
            }
        }
        for (int k = 0; k >= 0; k = next[k]) {
            if (sym[k] >= 0) out.add(sym[k]);
        }
    }

    private void setPair(int[] sym, int[] pairRank, int[] pairMerged, int k, int right) {
        int l = sym[k], r = sym[right];
        long m = l < 0 || r < 0 ? -1 : merges.get(l, r);
        if (m < 0) {
            pairRank[k] = -1;
        } else {
            pairRank[k] = (int) (m >>> 32);
            pairMerged[k] = (int) m;
        }
    }

    /**
     * The same merge order for short words with a flat scan instead of the heap: the lowest rank wins, the
     * leftmost on ties (strict comparison), and only the neighbours of a merge are re-ranked.
     */
    private void mergeSmall(Workspace ws, int n, IntList out) {
        int[] sym = ws.sym;
        int[] rank = ws.prev; // rank of pair (k, k+1), or MAX_VALUE
        for (int k = 0; k + 1 < n; k++) rank[k] = rankOf(sym[k], sym[k + 1]);
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
            sym[best] = (int) merges.get(sym[best], sym[best + 1]);
            System.arraycopy(sym, best + 2, sym, best + 1, m - best - 2);
            System.arraycopy(rank, best + 2, rank, best + 1, Math.max(0, m - best - 3));
            m--;
            if (best > 0) rank[best - 1] = rankOf(sym[best - 1], sym[best]);
            if (best + 1 < m) rank[best] = rankOf(sym[best], sym[best + 1]);
        }
        for (int k = 0; k < m; k++) if (sym[k] >= 0) out.add(sym[k]);
    }

    private int rankOf(int l, int r) {
        if (l < 0 || r < 0) return Integer.MAX_VALUE;
        long v = merges.get(l, r);
        return v < 0 ? Integer.MAX_VALUE : (int) (v >>> 32);
    }
}
