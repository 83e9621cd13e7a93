package ai.armature.engine.model;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The child JVM of {@link GreedyDeterminismTest}: loads a model, prefills a prompt and decodes greedily, {@code runs}
 * times in this JVM (so later runs are compiled by C2 where the JVM's flags allow it), and prints per run one line:
 * the generated tokens and a digest of the bits of every logit it produced.
 * Arguments: model path, steps, runs, chunk, prompt tokens.
 */
public final class GreedyRun {
    private GreedyRun() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int runs = Integer.parseInt(args[2]);
        int chunk = Integer.parseInt(args[3]);
        int[] prompt = Arrays.stream(args, 4, args.length).mapToInt(Integer::parseInt).toArray();
        try (GgufFile f = GgufReader.open(file)) {
            LlamaModel model = LlamaModel.load(f);
            for (int run = 0; run < runs; run++) {
                try (SingleSequence seq = new SingleSequence(model, prompt.length + steps + 1, chunk, KvDtype.F32)) {
                    long digest = 17;
                    int[] tokens = new int[steps];
                    float[] logits = seq.prefill(prompt);
                    for (int s = 0; s < steps; s++) {
                        digest = digest(digest, logits);
                        tokens[s] = argmax(logits);
                        logits = seq.decode(tokens[s]);
                    }
                    digest = digest(digest, logits);
                    System.out.println("run " + run + " tokens " + Arrays.toString(tokens) + " logits " + Long.toHexString(digest));
                }
            }
        }
    }

    private static long digest(long h, float[] logits) {
        for (float v : logits) h = h * 0x9E3779B97F4A7C15L + Float.floatToRawIntBits(v);
        return h;
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
