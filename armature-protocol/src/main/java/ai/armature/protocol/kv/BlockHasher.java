package ai.armature.protocol.kv;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

import net.openhft.hashing.LongHashFunction;

/**
 * The chained hash that names a full KV block, shared by workers (prefix cache) and routers (KV indexer) so their
 * views agree exactly. Definition (stable; a router in another language can reproduce it):
 * <ul>
 *   <li>H = XXH3 64-bit with seed {@link #SEED};</li>
 *   <li>the root of a chain is {@code H(utf8("armature-kv-v1\0" + modelName + "\0" + salt))}, salt being the
 *       request's cache salt or the empty string when it has none: different models or salts never share blocks;</li>
 *   <li>block i (tokens {@code [i*B, (i+1)*B)}) hashes to {@code H(le64(h[i-1]) ++ le32(t0) ++ le32(t1) ...)}, with
 *       {@code h[-1]} the root: two blocks hash equal only if their whole prefixes are equal.</li>
 * </ul>
 * Only full blocks are hashed. Blocks of up to 58 tokens are hashed by {@link Xxh3Block} straight from the token
 * array (the same values, without the byte copy); longer ones by the library. Thread-safe.
 */
public final class BlockHasher {

    /** The XXH3 seed of every Armature block hash. */
    public static final long SEED = 0x41524D4154555245L; // "ARMATURE"

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final LongHashFunction XXH3 = LongHashFunction.xx3(SEED);

    private final String modelName;

    public BlockHasher(String modelName) {
        this.modelName = Objects.requireNonNull(modelName, "modelName");
    }

    public String modelName() {
        return modelName;
    }

    /** The parent hash of a chain's first block for this model and cache salt (null salt = no salt). */
    public long rootHash(String cacheSalt) {
        String key = "armature-kv-v1\0" + modelName + "\0" + (cacheSalt == null ? "" : cacheSalt);
        return XXH3.hashBytes(key.getBytes(StandardCharsets.UTF_8));
    }

    /** The hash of one full block of {@code count} tokens {@code tokens[from, from+count)} whose parent hashes to {@code parentHash}. */
    public long hashBlock(long parentHash, int[] tokens, int from, int count) {
        if (count >= 1 && count <= Xxh3Block.MAX_TOKENS) {
            Objects.checkFromIndexSize(from, count, tokens.length);
            return Xxh3Block.hash(parentHash, tokens, from, count);
        }
        return hashBlock(parentHash, tokens, from, count, new byte[8 + 4 * count]);
    }

    /**
     * {@link #hashBlock(long, int[], int, int)} without allocating: {@code scratch} (at least {@code 8 + 4 * count}
     * bytes, overwritten) holds the bytes hashed. For callers that hash many blocks, such as a router per request.
     */
    public long hashBlock(long parentHash, int[] tokens, int from, int count, byte[] scratch) {
        Objects.checkFromIndexSize(from, count, tokens.length);
        int n = 8 + 4 * count;
        if (scratch.length < n) throw new IllegalArgumentException("the scratch buffer needs " + n + " bytes, has " + scratch.length);
        if (count >= 1 && count <= Xxh3Block.MAX_TOKENS) return Xxh3Block.hash(parentHash, tokens, from, count);
        LE_LONG.set(scratch, 0, parentHash);
        for (int i = 0; i < count; i++) LE_INT.set(scratch, 8 + 4 * i, tokens[from + i]);
        return XXH3.hashBytes(scratch, 0, n);
    }

    /** The chained hashes of all full blocks of {@code tokens[0, length)}: {@code length / blockSize} values. */
    public long[] hashFullBlocks(String cacheSalt, int[] tokens, int length, int blockSize) {
        Chain chain = chain(cacheSalt, blockSize);
        chain.extend(tokens, length);
        return java.util.Arrays.copyOf(chain.hashes, chain.size);
    }

    /** An empty chain for one token sequence of this model and cache salt, in blocks of {@code blockSize} tokens. */
    public Chain chain(String cacheSalt, int blockSize) {
        if (blockSize < 1) throw new IllegalArgumentException("block size must be >= 1, got " + blockSize);
        return new Chain(rootHash(cacheSalt), blockSize);
    }

    /**
     * The hashes of the full blocks of one growing token sequence (prompt, then generated tokens), computed
     * incrementally: {@link #extend} hashes only the blocks that became full since the last call. The tokens it
     * already hashed must not change (sequences only grow). Not thread-safe.
     */
    public final class Chain {
        private final long root;
        private final int blockSize;
        private long[] hashes = new long[8];
        private int size;

        private Chain(long root, int blockSize) {
            this.root = root;
            this.blockSize = blockSize;
        }

        /** Hashes every full block of {@code tokens[0, length)} not hashed yet; returns the number of hashed blocks. */
        public int extend(int[] tokens, int length) {
            int full = length / blockSize;
            if (full > hashes.length) hashes = java.util.Arrays.copyOf(hashes, Math.max(full, hashes.length * 2));
            for (; size < full; size++) hashes[size] = hashBlock(parent(size), tokens, size * blockSize, blockSize);
            return size;
        }

        /** Blocks hashed so far. */
        public int size() {
            return size;
        }

        public int blockSize() {
            return blockSize;
        }

        /** The hash of block {@code i < size()}. */
        public long hash(int i) {
            Objects.checkIndex(i, size);
            return hashes[i];
        }

        /** The parent of block {@code i}: the previous block's hash, or the root hash for block 0. */
        public long parent(int i) {
            Objects.checkIndex(i, size + 1);
            return i == 0 ? root : hashes[i - 1];
        }

        /** The root hash (the parent of block 0). */
        public long root() {
            return root;
        }
    }
}
