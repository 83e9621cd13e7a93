package ai.armature.engine.embedding;

import ai.armature.engine.demo.BertDemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.tensor.GgmlType;
import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The BERT forward pass against {@link ReferenceBert} on random-weight models with the bge vocabulary (the shared
 * fixture), float and quantized, CLS and mean pooling; batching does not change an embedding; outputs are unit
 * length.
 */
class BertModelTest {

    @TempDir
    Path dir;

    static Path vocabularyFixture() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            for (Path base : new Path[] {p, p.getParent()}) {
                if (base == null) continue;
                Path c = base.resolve("shared/fixtures/tokenizers/gguf/ggml-vocab-bert-bge.gguf");
                if (Files.exists(c)) return c;
            }
        }
        Assumptions.abort("the bge vocabulary fixture (../shared/fixtures/tokenizers/gguf/ggml-vocab-bert-bge.gguf) is absent");
        return null;
    }

    @ParameterizedTest(name = "{0} pooling={1} nomic={2}")
    @CsvSource({"F32,2,false", "F32,1,false", "Q8_0,2,false", "F16,1,false", "F32,1,true", "Q8_0,1,true", "F16,2,true"})
    void matchesReferenceAndIsBatchIndependent(GgmlType type, int pooling, boolean nomic) throws Exception {
        Path file = dir.resolve("bert.gguf");
        try (GgufFile vocab = GgufReader.open(vocabularyFixture())) {
            BertDemoModel.write(new BertDemoModel.Spec(64, 128, 2, 4, 64, pooling, type, 3, nomic), vocab.metadata(), file);
        }
        try (GgufFile f = GgufReader.open(file)) {
            BertModel model = BertModel.load(f);
            assertThat(model.config().rotary()).isEqualTo(nomic);
            Tokenizer tok = Tokenizers.fromGguf(f.metadata());
            List<int[]> inputs = new ArrayList<>();
            for (String s : List.of("Hello world", "The quick brown fox jumps over the lazy dog.", "a", "Embeddings, batched and normalized!")) {
                inputs.add(tok.encode(s, true, false));
            }
            assertThat(inputs.getFirst()[0]).isEqualTo(tok.bosTokenId()); // [CLS] first
            BertEncoder encoder = new BertEncoder(model);
            float[][] batch = encoder.embed(inputs);
            ReferenceBert ref = new ReferenceBert(f);
            double tol = type == GgmlType.F32 ? 1e-4 : 2e-2;
            for (int i = 0; i < inputs.size(); i++) {
                double[] want = ref.embed(inputs.get(i));
                float[] alone = encoder.embed(List.of(inputs.get(i)))[0];
                double norm = 0, maxDiff = 0, batchDiff = 0;
                for (int j = 0; j < want.length; j++) {
                    norm += (double) batch[i][j] * batch[i][j];
                    maxDiff = Math.max(maxDiff, Math.abs(batch[i][j] - want[j]));
                    batchDiff = Math.max(batchDiff, Math.abs(batch[i][j] - alone[j]));
                }
                assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
                assertThat(maxDiff).as("input %d vs reference", i).isLessThan(tol);
                // Q8_0: a pass of up to the kernels' fused width of tokens runs on int8-quantized activations and a
                // longer one in float, so a short input alone and inside a batch differ by the int8 rounding.
                assertThat(batchDiff).as("input %d alone vs in a batch", i).isLessThan(type == GgmlType.Q8_0 ? tol : 1e-5);
            }
        }
    }
}
