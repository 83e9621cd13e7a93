package ai.armature.engine.embedding;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.tensor.WeightMatrix;

/**
 * A naive BERT encoder in double precision, written from the published model definitions and independent of the
 * engine's code: one sequence at a time, whole matrices dequantized once, GELU through an erf computed by
 * numerical integration. For nomic-bert (nomic-embed-text's architecture): the fused QKV matrix is cut into its three
 * parts, queries and keys are rotated in double precision (pairs i and i + half of each head, angle
 * pos / base^(2i / head size)), the feed-forward is SwiGLU and nothing has a bias. The engine's {@link BertEncoder}
 * must agree with it.
 */
final class ReferenceBert {

    private final int dim, hidden, layers, heads, pooling;
    private final boolean nomic;
    private final double eps, ropeBase;
    private final double[][] tok, pos, type;
    private final double[] embW, embB;
    private final double[][][] vecs; // per layer: bq bk bv bo n1w n1b bup bdown n2w n2b
    private final double[][][][] matsByLayer; // per layer: q k v o up down

    ReferenceBert(GgufFile f) {
        GgufMetadata md = f.metadata();
        String a = md.getString("general.architecture");
        nomic = "nomic-bert".equals(a);
        dim = md.getInt(a + ".embedding_length", 0);
        hidden = md.getInt(a + ".feed_forward_length", 0);
        layers = md.getInt(a + ".block_count", 0);
        heads = md.getInt(a + ".attention.head_count", 0);
        eps = md.getFloat(a + ".attention.layer_norm_epsilon", 1e-12f);
        pooling = md.getInt(a + ".pooling_type", 2);
        ropeBase = md.getFloat(a + ".rope.freq_base", 10000f);
        tok = matrix(f, "token_embd.weight");
        pos = nomic ? null : matrix(f, "position_embd.weight");
        type = matrix(f, "token_types.weight");
        embW = vector(f, "token_embd_norm.weight");
        embB = vector(f, "token_embd_norm.bias");
        vecs = new double[layers][][];
        matsByLayer = new double[layers][][][];
        double[] zeroDim = new double[dim], zeroHidden = new double[hidden];
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            if (nomic) {
                double[][] qkv = matrix(f, p + "attn_qkv.weight");
                double[][][] m = {java.util.Arrays.copyOfRange(qkv, 0, dim), java.util.Arrays.copyOfRange(qkv, dim, 2 * dim),
                        java.util.Arrays.copyOfRange(qkv, 2 * dim, 3 * dim), matrix(f, p + "attn_output.weight"), matrix(f, p + "ffn_up.weight"),
                        matrix(f, p + "ffn_down.weight"), matrix(f, p + "ffn_gate.weight")};
                matsByLayer[l] = m;
                vecs[l] = new double[][] {zeroDim, zeroDim, zeroDim, zeroDim, vector(f, p + "attn_output_norm.weight"),
                        vector(f, p + "attn_output_norm.bias"), zeroHidden, zeroDim, vector(f, p + "layer_output_norm.weight"),
                        vector(f, p + "layer_output_norm.bias")};
                continue;
            }
            double[][][] m = {matrix(f, p + "attn_q.weight"), matrix(f, p + "attn_k.weight"), matrix(f, p + "attn_v.weight"),
                    matrix(f, p + "attn_output.weight"), matrix(f, p + "ffn_up.weight"), matrix(f, p + "ffn_down.weight")};
            matsByLayer[l] = m;
            vecs[l] = new double[][] {vector(f, p + "attn_q.bias"), vector(f, p + "attn_k.bias"), vector(f, p + "attn_v.bias"),
                    vector(f, p + "attn_output.bias"), vector(f, p + "attn_output_norm.weight"), vector(f, p + "attn_output_norm.bias"),
                    vector(f, p + "ffn_up.bias"), vector(f, p + "ffn_down.bias"), vector(f, p + "layer_output_norm.weight"),
                    vector(f, p + "layer_output_norm.bias")};
        }
    }

    /** Rotates each head of {@code a} (a query or key of the token at {@code position}). */
    private double[] rotary(double[] a, int position) {
        int hd = dim / heads, half = hd / 2;
        double[] out = a.clone();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                double angle = position / Math.pow(ropeBase, 2.0 * i / hd);
                double re = a[h * hd + i], im = a[h * hd + i + half];
                out[h * hd + i] = re * Math.cos(angle) - im * Math.sin(angle);
                out[h * hd + i + half] = re * Math.sin(angle) + im * Math.cos(angle);
            }
        }
        return out;
    }

    double[] embed(int[] tokens) {
        int n = tokens.length;
        double[][] x = new double[n][];
        for (int i = 0; i < n; i++) {
            double[] e = new double[dim];
            for (int j = 0; j < dim; j++) e[j] = tok[tokens[i]][j] + (nomic ? 0 : pos[i][j]) + type[0][j];
            x[i] = layerNorm(e, embW, embB);
        }
        int hd = dim / heads;
        for (int l = 0; l < layers; l++) {
            double[][][] m = matsByLayer[l];
            double[][] v = vecs[l];
            double[][] q = new double[n][], k = new double[n][], val = new double[n][];
            for (int i = 0; i < n; i++) {
                q[i] = add(mul(m[0], x[i]), v[0]);
                k[i] = add(mul(m[1], x[i]), v[1]);
                if (nomic) {
                    q[i] = rotary(q[i], i);
                    k[i] = rotary(k[i], i);
                }
                val[i] = add(mul(m[2], x[i]), v[2]);
            }
            double[][] next = new double[n][];
            for (int i = 0; i < n; i++) {
                double[] att = new double[dim];
                for (int h = 0; h < heads; h++) {
                    double[] s = new double[n];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u < n; u++) {
                        double dot = 0;
                        for (int j = 0; j < hd; j++) dot += q[i][h * hd + j] * k[u][h * hd + j];
                        s[u] = dot / Math.sqrt(hd);
                        max = Math.max(max, s[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u < n; u++) sum += s[u] = Math.exp(s[u] - max);
                    for (int u = 0; u < n; u++) for (int j = 0; j < hd; j++) att[h * hd + j] += s[u] / sum * val[u][h * hd + j];
                }
                double[] a = add(add(mul(m[3], att), v[3]), x[i]);
                a = layerNorm(a, v[4], v[5]);
                double[] up = add(mul(m[4], a), v[6]);
                if (nomic) {
                    double[] gate = mul(m[6], a);
                    for (int j = 0; j < up.length; j++) up[j] *= gate[j] / (1 + Math.exp(-gate[j]));
                } else {
                    for (int j = 0; j < up.length; j++) up[j] = 0.5 * up[j] * (1 + erf(up[j] / Math.sqrt(2)));
                }
                double[] out = add(add(mul(m[5], up), v[7]), a);
                next[i] = layerNorm(out, v[8], v[9]);
            }
            x = next;
        }
        double[] e = new double[dim];
        if (pooling == 1) {
            for (double[] row : x) for (int j = 0; j < dim; j++) e[j] += row[j] / n;
        } else {
            e = x[0].clone();
        }
        double norm = 0;
        for (double d : e) norm += d * d;
        norm = Math.sqrt(norm);
        for (int j = 0; j < dim; j++) e[j] /= norm;
        return e;
    }

    /** erf by composite Simpson integration of 2/sqrt(pi) exp(-t^2). */
    static double erf(double x) {
        int steps = 2000;
        double h = x / steps, sum = 0;
        for (int i = 0; i <= steps; i++) {
            double t = i * h;
            double w = i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2);
            sum += w * Math.exp(-t * t);
        }
        return 2 / Math.sqrt(Math.PI) * sum * h / 3;
    }

    private double[] layerNorm(double[] a, double[] w, double[] b) {
        double mean = 0, var = 0;
        for (double d : a) mean += d;
        mean /= a.length;
        for (double d : a) var += (d - mean) * (d - mean);
        var /= a.length;
        double[] out = new double[a.length];
        for (int j = 0; j < a.length; j++) out[j] = (a[j] - mean) / Math.sqrt(var + eps) * w[j] + b[j];
        return out;
    }

    private static double[] mul(double[][] m, double[] x) {
        double[] out = new double[m.length];
        for (int r = 0; r < m.length; r++) {
            double s = 0;
            for (int c = 0; c < x.length; c++) s += m[r][c] * x[c];
            out[r] = s;
        }
        return out;
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] + b[i];
        return out;
    }

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
        double[][] m = matrix1(f, name);
        return m[0];
    }

    private static double[][] matrix1(GgufFile f, String name) {
        GgufTensorInfo t = f.requireTensor(name);
        int n = (int) t.elementCount();
        float[] row = new float[n];
        WeightMatrix.of(t.type(), f.tensorData(name), 1, n).dequantizeRow(0, row, 0);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = row[i];
        return new double[][] {out};
    }
}
