package ai.armature.engine.model;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;

/**
 * A naive, obviously-correct Llama-family forward pass in double precision, written straight from the published
 * model definitions and independent of the engine's code: whole matrices dequantized once, one token at a time,
 * full-precision K/V kept in lists, no batching, no paging, no vectorization. The engine must agree with it.
 */
final class ReferenceLlama {

    private final String arch;
    private final int dim, hidden, layers, heads, kvHeads, headDim, vocab;
    private final double eps, theta;
    private final String scalingType;
    private final double scalingFactor, lowFreq, highFreq, origCtx;
    private final double[][] embedding, output;
    private final double[] outputNorm;
    private final Layer[] blocks;
    private final List<double[][]> keys = new ArrayList<>(), values = new ArrayList<>(); // per layer, per position

    private record Layer(double[] attnNorm, double[][] wq, double[][] wk, double[][] wv, double[][] wo,
                         double[] bq, double[] bk, double[] bv, double[] qNorm, double[] kNorm,
                         double[] ffnNorm, double[][] gate, double[][] up, double[][] down) {
    }

    ReferenceLlama(GgufFile f) {
        GgufMetadata md = f.metadata();
        arch = md.getString("general.architecture");
        dim = md.getInt(arch + ".embedding_length", 0);
        hidden = md.getInt(arch + ".feed_forward_length", 0);
        layers = md.getInt(arch + ".block_count", 0);
        heads = md.getInt(arch + ".attention.head_count", 0);
        kvHeads = md.getInt(arch + ".attention.head_count_kv", heads);
        headDim = md.getInt(arch + ".attention.key_length", dim / heads);
        eps = md.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        theta = md.getFloat(arch + ".rope.freq_base", 10000f);
        scalingType = md.getString(arch + ".rope.scaling.type");
        scalingFactor = md.getFloat(arch + ".rope.scaling.factor", 1f);
        lowFreq = md.getFloat(arch + ".rope.scaling.low_freq_factor", 1f);
        highFreq = md.getFloat(arch + ".rope.scaling.high_freq_factor", 4f);
        origCtx = md.getInt(arch + ".rope.scaling.original_context_length", 8192);
        embedding = matrix(f, "token_embd.weight");
        vocab = embedding.length;
        output = f.findTensor("output.weight") != null ? matrix(f, "output.weight") : embedding;
        outputNorm = vector(f, "output_norm.weight");
        blocks = new Layer[layers];
        boolean bias = arch.equals("qwen2"), qkNorm = arch.equals("qwen3");
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            blocks[l] = new Layer(vector(f, p + "attn_norm.weight"), matrix(f, p + "attn_q.weight"), matrix(f, p + "attn_k.weight"),
                    matrix(f, p + "attn_v.weight"), matrix(f, p + "attn_output.weight"),
                    bias ? vector(f, p + "attn_q.bias") : null, bias ? vector(f, p + "attn_k.bias") : null,
                    bias ? vector(f, p + "attn_v.bias") : null,
                    qkNorm ? vector(f, p + "attn_q_norm.weight") : null, qkNorm ? vector(f, p + "attn_k_norm.weight") : null,
                    vector(f, p + "ffn_norm.weight"), matrix(f, p + "ffn_gate.weight"), matrix(f, p + "ffn_up.weight"),
                    matrix(f, p + "ffn_down.weight"));
            keys.add(new double[0][]);
            values.add(new double[0][]);
        }
    }

    /** Rows of a GGUF matrix (ne1 rows of ne0 columns), dequantized by the kernel's own tested dequantizer. */
    private static double[][] matrix(GgufFile f, String name) {
        GgufTensorInfo t = f.requireTensor(name);
        int cols = (int) t.dims()[0], rows = (int) t.dims()[1];
        WeightMatrix m = WeightMatrix.of(t.type(), f.tensorData(name), rows, cols);
        double[][] out = new double[rows][cols];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) out[r][c] = row[c];
        }
        return out;
    }

    private static double[] vector(GgufFile f, String name) {
        GgufTensorInfo t = f.requireTensor(name);
        int n = (int) t.elementCount();
        float[] row = new float[n];
        WeightMatrix.of(t.type(), f.tensorData(name), 1, n).dequantizeRow(0, row, 0);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = row[i];
        return out;
    }

    int position() {
        return keys.getFirst().length;
    }

    /** Feeds the next token of the sequence and returns the logits that follow it. */
    double[] next(int token) {
        return matvec(output, nextHidden(token));
    }

    /** Feeds the next token and returns the final-normed hidden state the logits are projected from. */
    double[] nextHidden(int token) {
        int pos = position();
        double[] x = embedding[token].clone();
        for (int l = 0; l < layers; l++) {
            Layer w = blocks[l];
            double[] h = rmsnorm(x, w.attnNorm);
            double[] q = matvec(w.wq, h), k = matvec(w.wk, h), v = matvec(w.wv, h);
            if (w.bq != null) {
                addInPlace(q, w.bq);
                addInPlace(k, w.bk);
                addInPlace(v, w.bv);
            }
            for (int hh = 0; hh < heads; hh++) headTransform(q, hh * headDim, w.qNorm, pos);
            for (int hh = 0; hh < kvHeads; hh++) headTransform(k, hh * headDim, w.kNorm, pos);
            keys.set(l, append(keys.get(l), k));
            values.set(l, append(values.get(l), v));
            double[][] ks = keys.get(l), vs = values.get(l);
            double[] att = new double[heads * headDim];
            for (int hh = 0; hh < heads; hh++) {
                int g = hh / (heads / kvHeads);
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = 0; p <= pos; p++) {
                    double s = 0;
                    for (int i = 0; i < headDim; i++) s += q[hh * headDim + i] * ks[p][g * headDim + i];
                    scores[p] = s / Math.sqrt(headDim);
                    max = Math.max(max, scores[p]);
                }
                double sum = 0;
                for (int p = 0; p <= pos; p++) sum += scores[p] = Math.exp(scores[p] - max);
                for (int p = 0; p <= pos; p++) {
                    for (int i = 0; i < headDim; i++) att[hh * headDim + i] += scores[p] / sum * vs[p][g * headDim + i];
                }
            }
            addInPlace(x, matvec(w.wo, att));
            double[] h2 = rmsnorm(x, w.ffnNorm);
            double[] gate = matvec(w.gate, h2), up = matvec(w.up, h2);
            for (int i = 0; i < hidden; i++) gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            addInPlace(x, matvec(w.down, gate));
        }
        return rmsnorm(x, outputNorm);
    }

    /** Optional per-head RMSNorm (Qwen3), then rotary embedding in the architecture's pairing. */
    private void headTransform(double[] vec, int off, double[] norm, int pos) {
        if (norm != null) {
            double ss = 0;
            for (int i = 0; i < headDim; i++) ss += vec[off + i] * vec[off + i];
            double inv = 1 / Math.sqrt(ss / headDim + eps);
            for (int i = 0; i < headDim; i++) vec[off + i] = vec[off + i] * inv * norm[i];
        }
        for (int i = 0; i < headDim / 2; i++) {
            double freq = Math.pow(theta, -2.0 * i / headDim);
            if ("llama3".equals(scalingType)) freq = llama3(freq);
            double angle = pos * freq;
            int a, b;
            if (arch.equals("llama")) {
                a = off + 2 * i;
                b = a + 1;
            } else {
                a = off + i;
                b = a + headDim / 2;
            }
            double va = vec[a], vb = vec[b];
            vec[a] = va * Math.cos(angle) - vb * Math.sin(angle);
            vec[b] = va * Math.sin(angle) + vb * Math.cos(angle);
        }
    }

    /** Meta's Llama 3.1 frequency rule, from its reference implementation's description. */
    private double llama3(double freq) {
        double wavelen = 2 * Math.PI / freq;
        double lowWavelen = origCtx / lowFreq, highWavelen = origCtx / highFreq;
        if (wavelen < highWavelen) return freq;
        if (wavelen > lowWavelen) return freq / scalingFactor;
        double smooth = (origCtx / wavelen - lowFreq) / (highFreq - lowFreq);
        return (1 - smooth) * freq / scalingFactor + smooth * freq;
    }

    private double[] rmsnorm(double[] x, double[] w) {
        double ss = 0;
        for (double v : x) ss += v * v;
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * inv * w[i];
        return out;
    }

    private static double[] matvec(double[][] m, double[] x) {
        double[] y = new double[m.length];
        for (int r = 0; r < m.length; r++) {
            double s = 0;
            for (int c = 0; c < x.length; c++) s += m[r][c] * x[c];
            y[r] = s;
        }
        return y;
    }

    private static void addInPlace(double[] y, double[] x) {
        for (int i = 0; i < y.length; i++) y[i] += x[i];
    }

    private static double[][] append(double[][] rows, double[] row) {
        double[][] out = java.util.Arrays.copyOf(rows, rows.length + 1);
        out[rows.length] = row;
        return out;
    }

    int vocab() {
        return vocab;
    }
}
