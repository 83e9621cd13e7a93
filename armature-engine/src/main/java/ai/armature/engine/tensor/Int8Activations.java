package ai.armature.engine.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activation vectors quantized to int8 in blocks of 32, as ggml's {@code quantize_row_q8_0} does for the integer
 * kernels: {@code d = amax / 127}, {@code q = round(x / d)} (halves away from zero). The quants are kept as shorts,
 * ready for 16-bit lane products with 4- to 6-bit weights; each block also keeps {@code d}, the sum of its quants,
 * and that sum times 8 as a 16-bit word (the correction for weights stored with an offset of 8), and for each of its
 * two 16-element halves 32 times the sum of the even-indexed quants (Q6_K's correction).
 *
 * <p>One instance per calling thread: products quantize their input on the caller before handing rows to the pool,
 * and the workers only read it. Buffers grow on demand and are reused, so steady-state calls allocate nothing.
 */
final class Int8Activations {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    static final int BLOCK = 32;
    private static final VectorMask<Short> EVEN = VectorMask.fromLong(S256, 0x5555);

    /** Quants of vector v, element k at {@code q[v * cols + k]}. */
    short[] q = new short[0];
    /** Scale of block b of vector v at {@code d[v * blocks + b]}. */
    float[] d = new float[0];
    /** Sum of the block's quants. */
    int[] sum = new int[0];
    /** {@code 8 * sum} as a 16-bit word (exact modulo 2^16, which is all the 16-bit kernels need). */
    short[] sum8 = new short[0];
    /**
     * For half h (elements 16h..16h+15) of block b: {@code 32 * sum} of its 8 even-indexed quants as a 16-bit word,
     * at {@code even32[2 * b + h]}.
     */
    short[] even32 = new short[0];
    int cols;
    int blocks;

    private static final ThreadLocal<Int8Activations> PER_THREAD = ThreadLocal.withInitial(Int8Activations::new);

    /** This thread's instance. */
    static Int8Activations forThisThread() {
        return PER_THREAD.get();
    }

    /**
     * Quantizes {@code n} vectors of {@code cols} floats ({@code cols} a multiple of 32) stored one after another from
     * {@code x[off]}.
     */
    void quantize(float[] x, int off, int n, int cols) {
        this.cols = cols;
        this.blocks = cols / BLOCK;
        int total = n * cols;
        if (q.length < total) {
            q = new short[total];
        }
        int nb = n * blocks;
        if (d.length < nb) {
            d = new float[nb];
            sum = new int[nb];
            sum8 = new short[nb];
            even32 = new short[2 * nb];
        }
        for (int b = 0; b < nb; b++) {
            int src = off + b * BLOCK;
            FloatVector lo = FloatVector.fromArray(F, x, src);
            FloatVector hi = FloatVector.fromArray(F, x, src + 16);
            float amax = lo.abs().max(hi.abs()).reduceLanes(VectorOperators.MAX);
            float scale = amax / 127f;
            float inv = scale != 0 ? 1f / scale : 0f;
            // Halves away from zero: truncate x/d + 0.5 * sign (|x/d| <= 127, so no overflow).
            FloatVector sl = lo.mul(inv);
            FloatVector sh = hi.mul(inv);
            sl = sl.add(sl.reinterpretAsInts().and(0x80000000).or(0x3F000000).reinterpretAsFloats());
            sh = sh.add(sh.reinterpretAsInts().and(0x80000000).or(0x3F000000).reinterpretAsFloats());
            ShortVector ql = (ShortVector) sl.convertShape(VectorOperators.F2S, S256, 0);
            ShortVector qh = (ShortVector) sh.convertShape(VectorOperators.F2S, S256, 0);
            int dst = b * BLOCK;
            ql.intoArray(q, dst);
            qh.intoArray(q, dst + 16);
            int s = ql.add(qh).reduceLanes(VectorOperators.ADD); // |s| <= 32 * 127: no 16-bit overflow
            d[b] = scale;
            sum[b] = s;
            sum8[b] = (short) (8 * s);
            even32[2 * b] = (short) (32 * ql.reduceLanes(VectorOperators.ADD, EVEN));
            even32[2 * b + 1] = (short) (32 * qh.reduceLanes(VectorOperators.ADD, EVEN));
        }
    }
}
