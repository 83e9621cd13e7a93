package ai.armature.engine.model;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.embedding.DecoderEmbedder;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Decoder embeddings (last-token pooling) against {@link ReferenceLlama}'s final hidden state, alone and batched. */
class DecoderEmbedderTest {

    @TempDir
    Path dir;

    @Test
    void lastTokenHiddenStateNormalizedAndBatchIndependent() throws Exception {
        Path file = dir.resolve("m.gguf");
        DemoModel.write(LlamaModelTest.spec(Architecture.LLAMA, GgmlType.F32, null, false), file);
        try (GgufFile f = GgufReader.open(file); DecoderEmbedder embedder = new DecoderEmbedder(LlamaModel.load(f))) {
            SplittableRandom r = new SplittableRandom(4);
            List<int[]> inputs = List.of(r.ints(7, 0, 300).toArray(), r.ints(20, 0, 300).toArray(), r.ints(1, 0, 300).toArray());
            float[][] batch = embedder.embed(inputs);
            for (int i = 0; i < inputs.size(); i++) {
                ReferenceLlama ref = new ReferenceLlama(f);
                double[] h = null;
                for (int t : inputs.get(i)) h = ref.nextHidden(t);
                double norm = 0;
                for (double d : h) norm += d * d;
                norm = Math.sqrt(norm);
                float[] alone = embedder.embed(List.of(inputs.get(i)))[0];
                for (int j = 0; j < h.length; j++) {
                    assertThat((double) batch[i][j]).isCloseTo(h[j] / norm, org.assertj.core.data.Offset.offset(2e-4));
                    assertThat(alone[j]).isCloseTo(batch[i][j], org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
    }
}
