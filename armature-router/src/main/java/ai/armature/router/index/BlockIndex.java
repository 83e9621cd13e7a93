package ai.armature.router.index;

import ai.armature.protocol.memory.LargePages;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * For one KV block size: which workers hold each block, keyed by the block's chained hash ({@code BlockHasher}).
 * The question it answers fast is the router's: for a prompt's block-hash chain, how many leading blocks each
 * worker holds.
 *
 * <p>Layout, chosen for a thousand workers and ten million (block, worker) entries: one open-addressing table
 * (linear probing, backward-shift deletion), off the heap on transparent huge pages where the system grants them
 * ({@link LargePages}: each level of a match is a random lookup in it), of {@code long} hashes, each next to (same
 * cache line) a value that is
 * either the one worker holding the block (the common case: 16 bytes per block, no object) or a reference to a
 * shared set: a
 * short {@code int[]} list of worker slots, which turns into a {@code long[]} bitset over all worker slots once it
 * has more members than the bitset has bytes / 4 (a system prompt every worker holds costs 16 words at 1,000
 * workers, and matching it is a word-wise AND).
 *
 * <p>Matching walks the chain and keeps the workers still matching ("alive"), as a list while few and as a bitset
 * while many, recording each worker's depth when it drops out: O(chain length x (alive workers, or words of the
 * bitset)) with no allocation. Not thread-safe (the indexer serialises access).
 */
final class BlockIndex {

    private static final int MIN_CAPACITY = 1024;
    /** Marks the value of an empty table slot (an empty slot also has key 0). */
    private static final int EMPTY = Integer.MIN_VALUE;

    /**
     * Slot i, 16 bytes at 16i: the key (a long) and its value (an int: the holder, or -(shared reference + 1)); slot
     * mask + 1 is hash 0's.
     */
    private MemorySegment table;
    private int mask;
    private int[] positions = new int[64];
    private int size;
    /** The set of the block whose hash is 0 lives at index {@code mask + 1}. */
    private boolean zeroPresent;

    private Object[] shared = new Object[64];
    /** How many table slots refer to each shared set: a set more than one slot refers to is never changed in place. */
    private int[] refCount = new int[64];
    /** Each shared set's content hash: the XOR of its members' {@link #memberHash}es. */
    private long[] setHash = new long[64];
    /** Content hash -> shared reference + 1, so that blocks with the same holders share one set (hash-consing). */
    private final LongIntMap interned = new LongIntMap();
    /** Scratch bitset over worker slots, all zero between calls. */
    private long[] mark = new long[1];
    private int[] freeShared = new int[64];
    private int freeSharedTop;
    private int sharedTop;
    private long sharedBytes;

    /** Words of a bitset that can hold every worker slot handed out so far. */
    private int slotWords = 1;

    // Matching scratch, reused.
    private int[] aliveList = new int[64];
    private long[] aliveBits = new long[1];

    BlockIndex() {
        this(MIN_CAPACITY);
    }

    BlockIndex(int expectedBlocks) {
        int cap = Integer.highestOneBit(Math.max(MIN_CAPACITY, expectedBlocks * 4 / 3 + 1) - 1) << 1;
        allocate(cap);
    }

    /** Blocks held by at least one worker. */
    int blocks() {
        return size + (zeroPresent ? 1 : 0);
    }

    /** Makes sure bitsets can hold worker slot {@code slot}. */
    void ensureSlot(int slot) {
        int words = (slot >>> 6) + 1;
        if (words > slotWords) {
            slotWords = Math.max(words, slotWords * 2);
            aliveBits = new long[slotWords];
            mark = new long[slotWords];
        }
        // A list holds at most 2 * slotWords + 1 workers before it turns into a bitset.
        if (aliveList.length < 2 * slotWords + 2) aliveList = new int[2 * slotWords + 2];
    }

    /** Records that {@code worker} holds {@code hash}; returns false if it already did. */
    boolean add(long hash, int worker) {
        int i = findOrInsert(hash);
        int v = value(i);
        if (v == EMPTY) {
            setValue(i, worker);
            return true;
        }
        if (v >= 0) {
            if (v == worker) return false;
            long h = memberHash(v) ^ memberHash(worker);
            int r = internedAs(h, null, v, worker, -1, 2);
            if (r >= 0) {
                refCount[r]++;
            } else {
                r = newShared(newList(v, worker), h);
            }
            setValue(i, -r - 1);
            return true;
        }
        int ref = -v - 1;
        Object s = shared[ref];
        if (contains(s, worker)) return false;
        changeSet(i, ref, s, worker, -1);
        return true;
    }

    /**
     * Table slot {@code slot}, whose holders are the shared set {@code ref} ({@code s}), gains worker {@code plus} or
     * loses worker {@code minus} (the other is -1; a set that loses a member keeps at least two). The slot takes the
     * interned set with the new members if there is one; otherwise a copy, when other slots share {@code ref} (a
     * shared set never changes: the match relies on it); otherwise {@code ref} changes in place.
     */
    private void changeSet(int slot, int ref, Object s, int plus, int minus) {
        long h = setHash[ref] ^ memberHash(plus >= 0 ? plus : minus);
        int r = internedAs(h, s, -1, plus, minus, sizeOf(s) + (plus >= 0 ? 1 : -1));
        if (r >= 0) {
            refCount[r]++;
        } else if (refCount[ref] > 1) {
            r = newShared(copyOf(s, plus, minus), h);
        } else {
            // Only this block refers to the set: change it in place.
            unintern(ref);
            if (plus >= 0) addInPlace(ref, s, plus);
            else removeInPlace(ref, s, minus);
            setHash[ref] = h;
            intern(ref);
            return;
        }
        release(ref);
        setValue(slot, -r - 1);
    }

    private void addInPlace(int ref, Object s, int worker) {
        if (s instanceof int[] list) {
            int n = list[0];
            if (n + 1 > 2 * slotWords + 1) {
                long[] bits = new long[1 + slotWords];
                for (int k = 1; k <= n; k++) setBit(bits, list[k]);
                setBit(bits, worker);
                bits[0] = n + 1;
                replaceShared(ref, bits);
                return;
            }
            if (n + 1 == list.length) {
                list = Arrays.copyOf(list, list.length * 2);
                replaceShared(ref, list);
            }
            list[n + 1] = worker;
            list[0] = n + 1;
            return;
        }
        long[] bits = (long[]) s;
        int word = 1 + (worker >>> 6);
        if (word >= bits.length) {
            bits = Arrays.copyOf(bits, 1 + slotWords);
            replaceShared(ref, bits);
        }
        bits[word] |= 1L << worker;
        bits[0]++;
    }

    /** Records that {@code worker} no longer holds {@code hash}; returns false if it did not. */
    boolean remove(long hash, int worker) {
        int i = find(hash);
        if (i < 0) return false;
        int v = value(i);
        if (v >= 0) {
            if (v != worker) return false;
            deleteSlot(i);
            return true;
        }
        int ref = -v - 1;
        Object s = shared[ref];
        if (!contains(s, worker)) return false;
        if (sizeOf(s) == 2) {
            setValue(i, otherMember(s, worker));
            release(ref);
            return true;
        }
        changeSet(i, ref, s, -1, worker);
        return true;
    }

    /** Removes {@code worker} from the set {@code ref} (at least 3 members), which only one block refers to. */
    private void removeInPlace(int ref, Object s, int worker) {
        if (s instanceof int[] list) {
            int n = list[0];
            int at = -1;
            for (int k = 1; k <= n; k++) if (list[k] == worker) at = k;
            list[at] = list[n];
            list[0] = n - 1;
            return;
        }
        long[] bits = (long[]) s;
        bits[1 + (worker >>> 6)] &= ~(1L << worker);
        long n = --bits[0];
        if (n <= slotWords) {
            // Few members left: back to a list (hysteresis: lists turn into bitsets at 2 * slotWords + 2).
            int[] list = new int[Math.max(4, Integer.highestOneBit((int) n) * 2 + 2)];
            list[0] = (int) n;
            int k = 1;
            for (int w = 1; w < bits.length; w++) {
                for (long x = bits[w]; x != 0; x &= x - 1) list[k++] = ((w - 1) << 6) + Long.numberOfTrailingZeros(x);
            }
            replaceShared(ref, list);
        }
    }

    /** The member of the two-member set {@code s} that is not {@code worker}. */
    private static int otherMember(Object s, int worker) {
        if (s instanceof int[] list) return list[1] == worker ? list[2] : list[1];
        long[] bits = (long[]) s;
        for (int w = 1; w < bits.length; w++) {
            for (long x = bits[w]; x != 0; x &= x - 1) {
                int m = ((w - 1) << 6) + Long.numberOfTrailingZeros(x);
                if (m != worker) return m;
            }
        }
        throw new IllegalStateException("no other member");
    }

    /** Whether {@code worker} holds {@code hash}. */
    boolean holds(long hash, int worker) {
        int i = find(hash);
        return i >= 0 && contains(value(i), worker);
    }

    /** How many workers hold {@code hash}. */
    int holders(long hash) {
        int i = find(hash);
        if (i < 0) return 0;
        int v = value(i);
        if (v >= 0) return 1;
        Object s = shared[-v - 1];
        return s instanceof int[] list ? list[0] : (int) ((long[]) s)[0];
    }

    /** A prompt's block-hash chain, hashed on demand: a match asks for more than the first hash only when someone holds it. */
    interface Chain {
        /** Makes sure the hashes of blocks {@code [0, end)} are computed and returns the array holding them. */
        long[] hashes(int end);
    }

    /** {@link #match(Chain, int, int[], Touched)} for a chain already hashed. */
    int match(long[] hashes, int n, int[] depth, Touched touched) {
        return match(end -> hashes, n, depth, touched);
    }

    /**
     * For the chain {@code hashes[0, n)}: sets {@code depth[w]} to the number of leading blocks worker slot {@code w}
     * holds, for every worker holding the first block, and appends those slots to {@code touched} (the caller reads
     * the depths and resets them to 0). {@code depth} must be 0 for every slot on entry. The chain is asked for its
     * first hash, and for the others only when some worker holds the first block: a prompt nobody holds (every new
     * conversation) costs one block hash. (Hashing the rest in one go measured faster in {@code bench router} than
     * hashing 8 levels at a time between lookups.) {@code touched} grows as needed ({@link Touched}). Returns the
     * deepest depth set (0 when nobody holds the first block).
     */
    int match(Chain chain, int n, int[] depth, Touched touched) {
        if (n == 0) return 0;
        long[] hashes = chain.hashes(1);
        int first = find(hashes[0]);
        if (first < 0) return 0;
        // Later levels' slots are looked up 8 at a time: independent probes overlap their cache misses.
        if (positions.length < n) positions = new int[Math.max(n, positions.length * 2)];
        int[] pos = positions;
        int filled = 1;
        int v0 = value(first);
        int prevV = v0;
        // LIST mode: alive = aliveList[0, alive), each with depth == level. BITS mode: aliveBits, depths assigned lazily.
        boolean bitsMode = false;
        int alive = 0;
        int aliveCount;
        if (v0 >= 0) {
            depth[v0] = 1;
            touched.add(v0);
            aliveList[0] = v0;
            alive = 1;
            aliveCount = 1;
        } else if (shared[-v0 - 1] instanceof int[] list) {
            int m = list[0];
            if (aliveList.length < m) aliveList = new int[Math.max(m, aliveList.length * 2)];
            for (int k = 1; k <= m; k++) {
                int w = list[k];
                depth[w] = 1;
                touched.add(w);
                aliveList[k - 1] = w;
            }
            alive = m;
            aliveCount = m;
        } else {
            long[] bits = (long[]) shared[-v0 - 1];
            long[] a = aliveBits;
            Arrays.fill(a, 0);
            touched.ensureRoom((int) bits[0]);
            int[] ts = touched.slots;
            int tn = touched.size;
            for (int w = 1; w < bits.length; w++) {
                long x = bits[w];
                a[w - 1] = x;
                for (; x != 0; x &= x - 1) ts[tn++] = ((w - 1) << 6) + Long.numberOfTrailingZeros(x);
            }
            touched.size = tn;
            bitsMode = true;
            aliveCount = (int) bits[0];
        }
        int level = 1;
        for (; level < n && aliveCount > 0; level++) {
            if (level >= filled) {
                int end = Math.min(n, filled + 8);
                if (level == 1) hashes = chain.hashes(n); // someone holds the first block: hash the whole chain at once
                for (int j = filled; j < end; j++) pos[j] = find(hashes[j]);
                filled = end;
            }
            int slot = pos[level];
            if (slot < 0) break;
            int v = value(slot);
            if (v < 0 && v == prevV) {
                // The same holder set as the previous level (sets are hash-consed, and a set several blocks share is
                // never changed): every worker still alive stays alive, and the set need not be read.
                if (!bitsMode) for (int j = 0; j < alive; j++) depth[aliveList[j]] = level + 1;
                continue;
            }
            prevV = v;
            Object set = v < 0 ? shared[-v - 1] : null;
            boolean setIsBits = set instanceof long[];
            if (!bitsMode) {
                if (v >= 0) {
                    if (depth[v] == level) {
                        depth[v] = level + 1;
                        aliveList[0] = v;
                        alive = 1;
                    } else {
                        alive = 0;
                    }
                } else if (!setIsBits) {
                    int[] list = (int[]) set;
                    int k = 0;
                    for (int j = 1, m = list[0]; j <= m; j++) {
                        int w = list[j];
                        if (depth[w] == level) {
                            depth[w] = level + 1;
                            aliveList[k++] = w;
                        }
                    }
                    alive = k;
                } else {
                    long[] bits = (long[]) set;
                    int k = 0;
                    for (int j = 0; j < alive; j++) {
                        int w = aliveList[j];
                        int word = 1 + (w >>> 6);
                        if (word < bits.length && (bits[word] & (1L << w)) != 0) {
                            depth[w] = level + 1;
                            aliveList[k++] = w;
                        }
                    }
                    alive = k;
                }
                aliveCount = alive;
            } else if (setIsBits) {
                long[] bits = (long[]) set;
                long[] a = aliveBits;
                int words = Math.min(a.length, bits.length - 1);
                int count = 0;
                for (int w = 0; w < a.length; w++) {
                    long x = a[w];
                    if (x == 0) continue;
                    long keep = w < words ? x & bits[w + 1] : 0;
                    for (long d = x & ~keep; d != 0; d &= d - 1) depth[(w << 6) + Long.numberOfTrailingZeros(d)] = level;
                    a[w] = keep;
                    count += Long.bitCount(keep);
                }
                aliveCount = count;
            } else {
                // Few holders of this block: everyone alive drops to this level, then the holders that were alive
                // continue, as a list.
                long[] a = aliveBits;
                int k = 0;
                if (v >= 0) {
                    if (isSet(a, v)) aliveList[k++] = v;
                } else {
                    int[] list = (int[]) set;
                    for (int j = 1, m = list[0]; j <= m; j++) if (isSet(a, list[j])) aliveList[k++] = list[j];
                }
                for (int w = 0; w < a.length; w++) {
                    for (long x = a[w]; x != 0; x &= x - 1) depth[(w << 6) + Long.numberOfTrailingZeros(x)] = level;
                }
                for (int j = 0; j < k; j++) depth[aliveList[j]] = level + 1;
                bitsMode = false;
                alive = k;
                aliveCount = k;
            }
        }
        if (bitsMode) {
            long[] a = aliveBits;
            for (int w = 0; w < a.length; w++) {
                for (long x = a[w]; x != 0; x &= x - 1) depth[(w << 6) + Long.numberOfTrailingZeros(x)] = level;
            }
        }
        // The loop moves on past the level where the last workers dropped out.
        return aliveCount > 0 ? level : level - 1;
    }

    /**
     * After a {@link #match} of {@code main} over the same chain, with this index holding other (pending) blocks:
     * extends every worker's depth through the blocks it holds in either index, so a worker's prefix is the longest
     * one each of whose blocks it holds in {@code main} or here. Workers that reach depth 1 only through this index
     * are appended to {@code touched}; every worker extended is appended to {@code extended} with the depth it had in
     * {@code main} (slot, depth, slot, depth...). {@code deepest} is what the match returned; returns the new deepest depth.
     * Meant for a small index (requests in flight): its lookups hit the cache; {@code main} is asked only about the
     * workers this index extends.
     */
    int extend(BlockIndex main, Chain chain, int n, int[] depth, Touched touched, Touched extended, int deepest) {
        if (n == 0 || blocks() == 0) return deepest;
        long[] hashes = chain.hashes(deepest > 0 ? n : 1);
        boolean hashedAll = deepest > 0;
        for (int level = 0; level < n && level <= deepest; level++) {
            int i = find(hashes[level]);
            if (i < 0) continue;
            int v = value(i);
            if (v >= 0) {
                if (depth[v] != level) continue;
                if (!hashedAll) {
                    hashes = chain.hashes(n);
                    hashedAll = true;
                }
                deepest = Math.max(deepest, extendOne(main, hashes, n, depth, touched, extended, v, level));
                continue;
            }
            Object set = shared[-v - 1];
            if (set instanceof int[] list) {
                for (int k = 1, m = list[0]; k <= m; k++) {
                    int w = list[k];
                    if (depth[w] != level) continue;
                    if (!hashedAll) {
                        hashes = chain.hashes(n);
                        hashedAll = true;
                    }
                    deepest = Math.max(deepest, extendOne(main, hashes, n, depth, touched, extended, w, level));
                }
            } else {
                long[] bits = (long[]) set;
                for (int word = 1; word < bits.length; word++) {
                    for (long x = bits[word]; x != 0; x &= x - 1) {
                        int w = ((word - 1) << 6) + Long.numberOfTrailingZeros(x);
                        if (depth[w] != level) continue;
                        if (!hashedAll) {
                            hashes = chain.hashes(n);
                            hashedAll = true;
                        }
                        deepest = Math.max(deepest, extendOne(main, hashes, n, depth, touched, extended, w, level));
                    }
                }
            }
        }
        return deepest;
    }

    /** Worker {@code w}, at depth {@code level}, holds block {@code level} here: follows it down both indexes. */
    private int extendOne(BlockIndex main, long[] hashes, int n, int[] depth, Touched touched, Touched extended, int w, int level) {
        if (level == 0) touched.add(w);
        extended.add(w);
        extended.add(level);
        int d = level + 1;
        while (d < n && (holds(hashes[d], w) || main.holds(hashes[d], w))) d++;
        depth[w] = d;
        return d;
    }

    /** Bytes held by this index (its table, shared sets, scratch arrays), for the memory benchmark. */
    long footprintBytes() {
        return table.byteSize() + 16L + shared.length * 4L + 16L + refCount.length * 4L + 16L + setHash.length * 8L
                + interned.footprintBytes() + 16L + mark.length * 8L + 16L + freeShared.length * 4L
                + sharedBytes + 16L + aliveList.length * 4L + 16L + aliveBits.length * 8L + 16L + positions.length * 4L;
    }

    /** Bytes of {@link #footprintBytes} off the Java heap: the table. */
    long offHeapBytes() {
        return table.byteSize();
    }

    /**
     * For tests: checks that every shared set's reference count is the number of slots referring to it and its content
     * hash matches its members; returns how many shared sets are in use.
     */
    int checkSharedSets() {
        int[] counted = new int[sharedTop];
        for (int i = 0; i <= mask + 1; i++) {
            if (i <= mask && key(i) == 0) continue;
            if (i == mask + 1 && !zeroPresent) continue;
            int v = value(i);
            if (v < 0) counted[-v - 1]++;
        }
        int inUse = 0;
        for (int r = 0; r < sharedTop; r++) {
            if (shared[r] == null) {
                if (counted[r] != 0) throw new IllegalStateException("slots refer to freed set " + r);
                continue;
            }
            inUse++;
            if (counted[r] != refCount[r]) throw new IllegalStateException("set " + r + ": " + counted[r] + " slots, count " + refCount[r]);
            long h = 0;
            int[] members = members(-r - 1);
            for (int m : members) h ^= memberHash(m);
            if (h != setHash[r]) throw new IllegalStateException("set " + r + ": stale content hash");
            if (members.length < 2) throw new IllegalStateException("set " + r + " has " + members.length + " members");
        }
        return inUse;
    }

    /** Every (hash, holder) pair, for tests comparing two indexes' contents. */
    List<long[]> entries() {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i <= mask + 1; i++) {
            if (i <= mask && key(i) == 0) continue;
            if (i == mask + 1 && !zeroPresent) continue;
            long key = i <= mask ? key(i) : 0;
            for (int w : members(value(i))) out.add(new long[] {key, w});
        }
        return out;
    }

    private int[] members(int v) {
        if (v >= 0) return new int[] {v};
        Object s = shared[-v - 1];
        if (s instanceof int[] list) return Arrays.copyOfRange(list, 1, list[0] + 1);
        long[] bits = (long[]) s;
        int[] out = new int[(int) bits[0]];
        int k = 0;
        for (int w = 1; w < bits.length; w++) {
            for (long x = bits[w]; x != 0; x &= x - 1) out[k++] = ((w - 1) << 6) + Long.numberOfTrailingZeros(x);
        }
        return out;
    }

    private boolean contains(int v, int worker) {
        if (v >= 0) return v == worker;
        return contains(shared[-v - 1], worker);
    }

    private static boolean contains(Object s, int worker) {
        if (s instanceof int[] list) {
            for (int k = 1, n = list[0]; k <= n; k++) if (list[k] == worker) return true;
            return false;
        }
        long[] bits = (long[]) s;
        int word = 1 + (worker >>> 6);
        return word < bits.length && (bits[word] & (1L << worker)) != 0;
    }

    private static boolean isSet(long[] words, int w) {
        int word = w >>> 6;
        return word < words.length && (words[word] & (1L << w)) != 0;
    }

    private static void setBit(long[] bits, int w) {
        bits[1 + (w >>> 6)] |= 1L << w;
    }

    private static int[] newList(int a, int b) {
        int[] list = new int[4];
        list[0] = 2;
        list[1] = a;
        list[2] = b;
        return list;
    }

    /** A new shared set (one slot refers to it) with content hash {@code h}, interned unless another set has that hash. */
    private int newShared(Object set, long h) {
        int ref;
        if (freeSharedTop > 0) {
            ref = freeShared[--freeSharedTop];
        } else {
            if (sharedTop == shared.length) {
                shared = Arrays.copyOf(shared, shared.length * 2);
                refCount = Arrays.copyOf(refCount, shared.length);
                setHash = Arrays.copyOf(setHash, shared.length);
            }
            ref = sharedTop++;
        }
        shared[ref] = set;
        refCount[ref] = 1;
        setHash[ref] = h;
        sharedBytes += bytesOf(set);
        intern(ref);
        return ref;
    }

    /** One slot less refers to set {@code ref}; the last one frees it. */
    private void release(int ref) {
        if (--refCount[ref] == 0) {
            unintern(ref);
            freeShared(ref);
        }
    }

    private void intern(int ref) {
        if (interned.get(setHash[ref]) == 0) interned.put(setHash[ref], ref + 1);
    }

    private void unintern(int ref) {
        if (interned.get(setHash[ref]) == ref + 1) interned.remove(setHash[ref]);
    }

    /** A worker slot's contribution to a set's content hash (a bijection, so distinct slots never cancel out alone). */
    private static long memberHash(int worker) {
        long z = (worker + 1L) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        return z ^ (z >>> 32);
    }

    private static int sizeOf(Object set) {
        return set instanceof int[] list ? list[0] : (int) ((long[]) set)[0];
    }

    /**
     * The interned set with content hash {@code h} if its members are exactly those of {@code base} (or the single
     * worker {@code single} when base is null), plus {@code plus} (or -1), minus {@code minus} (or -1), {@code size}
     * in all; otherwise -1. The hash only finds the candidate: the members are compared.
     */
    private int internedAs(long h, Object base, int single, int plus, int minus, int size) {
        int r = interned.get(h) - 1;
        if (r < 0 || sizeOf(shared[r]) != size) return -1;
        long[] m = mark;
        if (base != null) {
            markMembers(base);
        } else {
            m[single >>> 6] |= 1L << single;
        }
        if (plus >= 0) m[plus >>> 6] |= 1L << plus;
        if (minus >= 0) m[minus >>> 6] &= ~(1L << minus);
        boolean same = true;
        Object c = shared[r];
        if (c instanceof int[] list) {
            for (int k = 1, n = list[0]; k <= n && same; k++) same = (m[list[k] >>> 6] & (1L << list[k])) != 0;
        } else {
            long[] bits = (long[]) c;
            for (int w = 1; w < bits.length && same; w++) same = (bits[w] & ~m[w - 1]) == 0;
        }
        Arrays.fill(m, 0);
        // Equal sizes and every candidate member in the wanted set: the same set.
        return same ? r : -1;
    }

    private void markMembers(Object set) {
        long[] m = mark;
        if (set instanceof int[] list) {
            for (int k = 1, n = list[0]; k <= n; k++) m[list[k] >>> 6] |= 1L << list[k];
        } else {
            long[] bits = (long[]) set;
            for (int w = 1; w < bits.length; w++) m[w - 1] |= bits[w];
        }
    }

    /** A new set with the members of {@code set} plus {@code plus} (or -1) minus {@code minus} (or -1). */
    private Object copyOf(Object set, int plus, int minus) {
        int n = sizeOf(set) + (plus >= 0 ? 1 : 0) - (minus >= 0 ? 1 : 0);
        if (n > 2 * slotWords + 1) {
            long[] bits = new long[1 + slotWords];
            if (set instanceof int[] list) {
                for (int k = 1, m = list[0]; k <= m; k++) setBit(bits, list[k]);
            } else {
                long[] from = (long[]) set;
                System.arraycopy(from, 1, bits, 1, from.length - 1);
            }
            if (plus >= 0) setBit(bits, plus);
            if (minus >= 0) bits[1 + (minus >>> 6)] &= ~(1L << minus);
            bits[0] = n;
            return bits;
        }
        int[] list = new int[Math.max(4, Integer.highestOneBit(n) * 2 + 2)];
        int k = 1;
        if (set instanceof int[] from) {
            for (int j = 1, m = from[0]; j <= m; j++) if (from[j] != minus) list[k++] = from[j];
        } else {
            long[] bits = (long[]) set;
            for (int w = 1; w < bits.length; w++) {
                for (long x = bits[w]; x != 0; x &= x - 1) {
                    int m = ((w - 1) << 6) + Long.numberOfTrailingZeros(x);
                    if (m != minus) list[k++] = m;
                }
            }
        }
        if (plus >= 0) list[k++] = plus;
        list[0] = n;
        return list;
    }

    private void replaceShared(int ref, Object set) {
        sharedBytes += bytesOf(set) - bytesOf(shared[ref]);
        shared[ref] = set;
    }

    private void freeShared(int ref) {
        sharedBytes -= bytesOf(shared[ref]);
        shared[ref] = null;
        if (freeSharedTop == freeShared.length) freeShared = Arrays.copyOf(freeShared, freeShared.length * 2);
        freeShared[freeSharedTop++] = ref;
    }

    private static long bytesOf(Object set) {
        if (set instanceof int[] a) return (16L + 4L * a.length + 7) & ~7L;
        return 16L + 8L * ((long[]) set).length;
    }

    private long key(int slot) {
        return table.get(ValueLayout.JAVA_LONG, (long) slot << 4);
    }

    /** Slot {@code slot}'s value; stored XOR {@link #EMPTY}, so that the zeroed memory of a new table reads empty. */
    private int value(int slot) {
        return table.get(ValueLayout.JAVA_INT, ((long) slot << 4) + 8) ^ EMPTY;
    }

    private void setValue(int slot, int v) {
        table.set(ValueLayout.JAVA_INT, ((long) slot << 4) + 8, v ^ EMPTY);
    }

    private int find(long key) {
        if (key == 0) return zeroPresent ? mask + 1 : -1;
        MemorySegment t = table;
        int m = mask;
        for (int i = LinearProbing.spread(key) & m; ; i = (i + 1) & m) {
            long c = t.get(ValueLayout.JAVA_LONG, (long) i << 4);
            if (c == key) return i;
            if (c == 0) return -1;
        }
    }

    private int findOrInsert(long key) {
        if (key == 0) {
            if (!zeroPresent) {
                zeroPresent = true;
                setValue(mask + 1, EMPTY);
            }
            return mask + 1;
        }
        MemorySegment t = table;
        int m = mask;
        for (int i = LinearProbing.spread(key) & m; ; i = (i + 1) & m) {
            long c = t.get(ValueLayout.JAVA_LONG, (long) i << 4);
            if (c == key) return i;
            if (c == 0) {
                if (size + 1 > (m + 1) / 4 * 3) {
                    grow();
                    return findOrInsert(key);
                }
                t.set(ValueLayout.JAVA_LONG, (long) i << 4, key);
                setValue(i, EMPTY);
                size++;
                return i;
            }
        }
    }

    private void deleteSlot(int hole) {
        if (hole == mask + 1) {
            zeroPresent = false;
            setValue(hole, EMPTY);
            return;
        }
        size--;
        LinearProbing.delete(table, mask, hole);
    }

    /**
     * A zeroed table of {@code cap} slots and the zero hash's, off the heap on huge pages where the system grants them
     * ({@link LargePages}): a match is a chain of dependent lookups in a table of up to hundreds of MB, each a cache
     * miss, and on 4 KiB pages a TLB miss too. The old table's memory goes back when the GC finds it unreachable.
     */
    private void allocate(int cap) {
        table = LargePages.allocate((cap + 1L) << 4);
        mask = cap - 1;
    }

    private void grow() {
        MemorySegment old = table;
        int oldCap = mask + 1;
        allocate(oldCap * 2);
        MemorySegment t = table;
        int m = mask;
        for (int i = 0; i < oldCap; i++) {
            long c = old.get(ValueLayout.JAVA_LONG, (long) i << 4);
            if (c == 0) continue;
            int j = LinearProbing.spread(c) & m;
            while (t.get(ValueLayout.JAVA_LONG, (long) j << 4) != 0) j = (j + 1) & m;
            t.set(ValueLayout.JAVA_LONG, (long) j << 4, c);
            t.set(ValueLayout.JAVA_LONG, ((long) j << 4) + 8, old.get(ValueLayout.JAVA_LONG, ((long) i << 4) + 8));
        }
        // The zero hash's slot, last in either table (its key is 0).
        t.set(ValueLayout.JAVA_LONG, ((long) (m + 1) << 4) + 8, old.get(ValueLayout.JAVA_LONG, ((long) oldCap << 4) + 8));
    }

    /** A growable list of worker slots touched by a match (reused across matches). */
    static final class Touched {
        int[] slots = new int[64];
        int size;

        void add(int slot) {
            if (size == slots.length) slots = Arrays.copyOf(slots, size * 2);
            slots[size++] = slot;
        }

        void clear() {
            size = 0;
        }

        /** Makes room for {@code more} slots beyond {@link #size}. */
        void ensureRoom(int more) {
            if (size + more > slots.length) slots = Arrays.copyOf(slots, Math.max(size + more, slots.length * 2));
        }
    }
}
