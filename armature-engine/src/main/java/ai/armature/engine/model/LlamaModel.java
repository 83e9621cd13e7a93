package ai.armature.engine.model;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufFormatException;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.tensor.GgmlType;
import ai.armature.engine.tensor.WeightMatrix;

/**
 * A loaded Llama-family model: its config and weights, which stay in the memory-mapped GGUF file. Immutable and
 * shared by any number of {@link ForwardPass}es (one per worker). Loading checks every tensor's presence, type
 * and shape so that a bad file fails here with a message naming the tensor, not later inside a kernel.
 */
public final class LlamaModel {

    private final ModelConfig config;
    private final WeightMatrix tokenEmbedding;
    private final LayerWeights[] layers;
    private final float[] outputNorm;
    private final WeightMatrix output;
    private final RopeFrequencies rope;
    private final long weightBytesPerToken;
    private final long matmulParameters;

    private LlamaModel(ModelConfig config, WeightMatrix tokenEmbedding, LayerWeights[] layers, float[] outputNorm,
                       WeightMatrix output, RopeFrequencies rope) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.layers = layers;
        this.outputNorm = outputNorm;
        this.output = output;
        this.rope = rope;
        long bytes = output.data().byteSize() + tokenEmbedding.data().byteSize() / tokenEmbedding.rows();
        long params = (long) output.rows() * output.cols();
        for (LayerWeights l : layers) {
            for (WeightMatrix m : new WeightMatrix[]{l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()}) {
                bytes += m.data().byteSize();
                params += (long) m.rows() * m.cols();
            }
        }
        this.weightBytesPerToken = bytes;
        this.matmulParameters = params;
    }

    /** Builds the model over an open file; the file must stay open while the model is used. */
    public static LlamaModel load(GgufFile file) {
        try {
            return new Loader(file).load();
        } catch (GgufFormatException e) {
            throw new GgufFormatException(file.path() + ": " + e.getMessage(), e);
        }
    }

    public ModelConfig config() {
        return config;
    }

    WeightMatrix tokenEmbedding() {
        return tokenEmbedding;
    }

    LayerWeights layer(int i) {
        return layers[i];
    }

    float[] outputNorm() {
        return outputNorm;
    }

    WeightMatrix output() {
        return output;
    }

    RopeFrequencies rope() {
        return rope;
    }

    /** Bytes of weights read to generate one token: every matrix once, plus one embedding row. */
    public long weightBytesPerToken() {
        return weightBytesPerToken;
    }

    /** Weights multiplied per token (the embedding lookup is not a product): FLOPs per token are about twice this. */
    public long parameterCount() {
        return matmulParameters;
    }

    /**
     * Fails with a clear message, before any tensor is decoded, when the K-quant scales the kernels decode at load
     * ({@code needed} bytes) would not fit the Java heap left ({@code available}): otherwise loading a large model
     * ends in an OutOfMemoryError half-way.
     */
    static void checkHeap(String model, long needed, long available) {
        if (needed > available) {
            throw new IllegalArgumentException(String.format(
                    "%s: its Q4_K/Q5_K tensors need %.1f GiB of Java heap for their decoded scales and bits, but %.1f GiB is available; "
                            + "raise the limit with ARMATURE_JAVA_OPTS=-Xmx<size>", model, needed / 1073741824.0, available / 1073741824.0));
        }
    }

    /**
     * Fails with a clear message, before any tensor is repacked, when the kernels' off-heap copies ({@code needed}
     * bytes: the interleaved Q8_0/Q4_0/Q4_K/Q5_K/Q6_K layouts, see {@link WeightMatrix#repackedBytes})
     * exceed the memory the system has available ({@code available}, or a negative value when unknown).
     */
    static void checkOffHeap(String model, long needed, long available) {
        if (available >= 0 && needed > available) {
            throw new IllegalArgumentException(String.format(
                    "%s: its quantized tensors are repacked for the kernels (Q8_0/Q4_0/Q4_K/Q5_K/Q6_K) into %.1f GiB "
                            + "of memory beside the mapped file, but only %.1f GiB is available; free memory or use a smaller file", model, needed / 1073741824.0, available / 1073741824.0));
        }
    }

    /** MemAvailable from /proc/meminfo (free plus reclaimable page cache), or -1 where it cannot be read. */
    static long availableMemory() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux, or unreadable: skip the check
        }
        return -1;
    }

    /** Checks and wraps the tensors of one file. */
    private static final class Loader {
        private final GgufFile file;

        Loader(GgufFile file) {
            this.file = file;
        }

        LlamaModel load() {
            long heap = 0, offHeap = 0;
            for (GgufTensorInfo t : file.tensors()) {
                heap += WeightMatrix.decodedHeapBytes(t.type(), t.elementCount());
                if (t.dims().length == 2) offHeap += WeightMatrix.repackedBytes(t.type(), t.dims()[1], t.dims()[0]);
            }
            Runtime rt = Runtime.getRuntime();
            checkHeap(file.path().toString(), heap, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()));
            checkOffHeap(file.path().toString(), offHeap, availableMemory());
            GgufTensorInfo embd = file.requireTensor("token_embd.weight");
            if (embd.dims().length != 2) throw new GgufFormatException("token_embd.weight must be 2-D");
            int vocab = Math.toIntExact(embd.dims()[1]);
            ModelConfig c = ModelConfig.fromMetadata(file.metadata(), vocab);
            WeightMatrix tokenEmbedding = matrix("token_embd.weight", c.dim(), vocab);
            LayerWeights[] layers = new LayerWeights[c.layers()];
            Architecture a = c.architecture();
            for (int i = 0; i < c.layers(); i++) {
                String p = "blk." + i + ".";
                layers[i] = new LayerWeights(
                        vector(p + "attn_norm.weight", c.dim()),
                        matrix(p + "attn_q.weight", c.dim(), c.qDim()),
                        matrix(p + "attn_k.weight", c.dim(), c.kvDim()),
                        matrix(p + "attn_v.weight", c.dim(), c.kvDim()),
                        matrix(p + "attn_output.weight", c.qDim(), c.dim()),
                        a.qkvBias() ? vector(p + "attn_q.bias", c.qDim()) : null,
                        a.qkvBias() ? vector(p + "attn_k.bias", c.kvDim()) : null,
                        a.qkvBias() ? vector(p + "attn_v.bias", c.kvDim()) : null,
                        a.qkNorm() ? vector(p + "attn_q_norm.weight", c.headDim()) : null,
                        a.qkNorm() ? vector(p + "attn_k_norm.weight", c.headDim()) : null,
                        vector(p + "ffn_norm.weight", c.dim()),
                        matrix(p + "ffn_gate.weight", c.dim(), c.hiddenDim()),
                        matrix(p + "ffn_up.weight", c.dim(), c.hiddenDim()),
                        matrix(p + "ffn_down.weight", c.hiddenDim(), c.dim()));
            }
            float[] outputNorm = vector("output_norm.weight", c.dim());
            WeightMatrix output;
            if (file.findTensor("output.weight") != null) {
                output = matrix("output.weight", c.dim(), vocab);
            } else {
                output = tokenEmbedding; // tied embeddings
            }
            float[] freqFactors = file.findTensor("rope_freqs.weight") != null ? vector("rope_freqs.weight", c.headDim() / 2) : null;
            return new LlamaModel(c, tokenEmbedding, layers, outputNorm, output, new RopeFrequencies(c, freqFactors));
        }

        private WeightMatrix matrix(String name, int cols, int rows) {
            GgufTensorInfo t = file.requireTensor(name);
            long[] d = t.dims();
            if (d.length != 2 || d[0] != cols || d[1] != rows) {
                throw new GgufFormatException("tensor '" + name + "' has shape " + java.util.Arrays.toString(d)
                        + ", expected [" + cols + ", " + rows + "]");
            }
            requireSupported(name, t.type());
            if (cols % t.type().blockSize() != 0) {
                throw new GgufFormatException("tensor '" + name + "' has " + cols + " columns, not a multiple of the "
                        + t.type() + " block size " + t.type().blockSize());
            }
            return WeightMatrix.of(t.type(), file.tensorData(name), rows, cols);
        }

        private float[] vector(String name, int n) {
            GgufTensorInfo t = file.requireTensor(name);
            if (t.elementCount() != n) {
                throw new GgufFormatException("tensor '" + name + "' has " + t.elementCount() + " elements, expected " + n);
            }
            requireSupported(name, t.type());
            float[] out = new float[n];
            WeightMatrix.of(t.type(), file.tensorData(name), 1, n).dequantizeRow(0, out, 0);
            return out;
        }

        private static void requireSupported(String name, GgmlType type) {
            if (!type.supported()) {
                throw new GgufFormatException("tensor '" + name + "' has type " + type
                        + ", which Armature cannot compute with yet (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
            }
        }
    }
}
