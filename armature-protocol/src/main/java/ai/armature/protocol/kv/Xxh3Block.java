package ai.armature.protocol.kv;

/**
 * XXH3 64-bit, seeded, of one block's bytes as {@link BlockHasher} defines them ({@code le64(parent) ++ le32(t0) ++
 * le32(t1) ...}), read straight from the token array instead of being copied into a byte buffer first. It covers
 * inputs of 9 to 240 bytes, that is blocks of 1 to 58 tokens (vLLM's 16 and SGLang's 1 among them); longer blocks go
 * through the library's byte-oriented XXH3 ({@link BlockHasher}). Why: the router hashes every routed prompt's chain,
 * and the library's path (a copy into bytes, then reads through its {@code Access} abstraction) took about 42 ns per
 * 16-token block on the development machine, the largest single cost of a routing decision. The results are the
 * library's exactly (BlockHasherTest compares the two for every covered block size); the algorithm is XXH3's
 * published one for short inputs (the {@code 9to16}, {@code 17to128} and {@code 129to240} paths over the default
 * secret, the seed added to the secret's words).
 */
final class Xxh3Block {

    /** Blocks of at most this many tokens (8 + 4 x 58 = 240 bytes) are hashed here. */
    static final int MAX_TOKENS = 58;

    private static final long PRIME64_1 = 0x9E3779B185EBCA87L;
    private static final int SECRET_SIZE_MIN = 136;
    private static final int MIDSIZE_START_OFFSET = 3;
    private static final int MIDSIZE_LAST_OFFSET = 17;

    /** XXH3's default secret (kSecret, 192 bytes). */
    private static final byte[] SECRET = bytes(
            0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
            0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
            0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
            0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
            0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
            0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
            0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
            0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
            0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
            0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
            0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
            0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e);

    /**
     * The secret's 64-bit little-endian words at every byte offset a short input uses, seeded: {@code LO[o]} =
     * word at o plus the seed (the first half of a 16-byte mix), {@code HI[o]} = word at o + 8 minus the seed.
     */
    private static final long[] LO = new long[SECRET.length - 15];
    private static final long[] HI = new long[SECRET.length - 15];
    private static final long BITFLIP_LO;
    private static final long BITFLIP_HI;

    static {
        for (int o = 0; o < LO.length; o++) {
            LO[o] = le64(SECRET, o) + BlockHasher.SEED;
            HI[o] = le64(SECRET, o + 8) - BlockHasher.SEED;
        }
        BITFLIP_LO = (le64(SECRET, 24) ^ le64(SECRET, 32)) + BlockHasher.SEED;
        BITFLIP_HI = (le64(SECRET, 40) ^ le64(SECRET, 48)) - BlockHasher.SEED;
    }

    private Xxh3Block() {
    }

    /** The hash of block {@code tokens[from, from + count)} ({@code 1 <= count <= MAX_TOKENS}) under {@code parent}. */
    static long hash(long parent, int[] t, int from, int count) {
        int len = 8 + 4 * count;
        if (len <= 16) {
            long lo = word(parent, t, from, 0) ^ BITFLIP_LO;
            long hi = word(parent, t, from, len - 8) ^ BITFLIP_HI;
            return avalanche(len + Long.reverseBytes(lo) + hi + fold(lo, hi));
        }
        long acc = len * PRIME64_1;
        if (len <= 128) {
            if (len > 32) {
                if (len > 64) {
                    if (len > 96) {
                        acc += mix(parent, t, from, 48, 96);
                        acc += mix(parent, t, from, len - 64, 112);
                    }
                    acc += mix(parent, t, from, 32, 64);
                    acc += mix(parent, t, from, len - 48, 80);
                }
                acc += mix(parent, t, from, 16, 32);
                acc += mix(parent, t, from, len - 32, 48);
            }
            acc += mix(parent, t, from, 0, 0);
            acc += mix(parent, t, from, len - 16, 16);
            return avalanche(acc);
        }
        for (int i = 0; i < 8; i++) acc += mix(parent, t, from, 16 * i, 16 * i);
        long end = mix(parent, t, from, len - 16, SECRET_SIZE_MIN - MIDSIZE_LAST_OFFSET);
        acc = avalanche(acc);
        for (int i = 8, rounds = len / 16; i < rounds; i++) end += mix(parent, t, from, 16 * i, 16 * (i - 8) + MIDSIZE_START_OFFSET);
        return avalanche(acc + end);
    }

    /** XXH3's 16-byte mix of the input at byte {@code at} with the (seeded) secret at byte {@code secret}. */
    private static long mix(long parent, int[] t, int from, int at, int secret) {
        return fold(word(parent, t, from, at) ^ LO[secret], word(parent, t, from, at + 8) ^ HI[secret]);
    }

    /**
     * The input's little-endian 64-bit word at byte {@code at} (a multiple of 4: every offset XXH3 reads in an input
     * of 8 + 4k bytes is): the parent hash fills bytes 0-7, token i bytes 8 + 4i to 11 + 4i.
     */
    private static long word(long parent, int[] t, int from, int at) {
        if (at == 0) return parent;
        if (at == 4) return (parent >>> 32) | ((long) t[from] << 32);
        int k = from + ((at - 8) >> 2);
        return (t[k] & 0xFFFFFFFFL) | ((long) t[k + 1] << 32);
    }

    /** The 128-bit product of a and b, its halves XORed. */
    private static long fold(long a, long b) {
        return a * b ^ Math.unsignedMultiplyHigh(a, b);
    }

    private static long avalanche(long h) {
        h ^= h >>> 37;
        h *= 0x165667919E3779F9L;
        return h ^ (h >>> 32);
    }

    private static long le64(byte[] b, int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | (b[at + i] & 0xFF);
        return v;
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }
}
