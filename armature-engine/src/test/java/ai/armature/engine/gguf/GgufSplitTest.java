package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Split models (gguf-split convention): NAME-0000i-of-0000n.gguf with split.no / split.count / split.tensors.count. */
class GgufSplitTest {

    @TempDir
    Path dir;

    /** Writes a 3-part model: metadata in part 1 only (as gguf-split does), tensors t0..t4 spread 1/2/2. */
    private void writeSplit(String prefix, int declaredTensors) throws IOException {
        int[][] tensorsOfPart = {{0}, {1, 2}, {3, 4}};
        for (int part = 0; part < 3; part++) {
            GgufWriter w = new GgufWriter();
            if (part == 0) w.putString("general.architecture", "llama").putUint32("llama.block_count", 7);
            w.putUint16(GgufReader.SPLIT_NO, (short) part).putUint16(GgufReader.SPLIT_COUNT, (short) 3)
                    .putInt32(GgufReader.SPLIT_TENSORS_COUNT, declaredTensors);
            for (int t : tensorsOfPart[part]) {
                float[] data = new float[32 * (t + 1)];
                for (int i = 0; i < data.length; i++) data[i] = t * 1000 + i;
                w.addTensor("t" + t, new long[]{32, t + 1}, data);
            }
            w.write(dir.resolve(GgufReader.splitFileName(prefix, part + 1, 3)));
        }
    }

    @Test
    void openingAnyPartOpensTheWholeModel() throws IOException {
        writeSplit("model", 5);
        for (int given = 1; given <= 3; given++) {
            try (GgufFile g = GgufReader.open(dir.resolve("model-0000" + given + "-of-00003.gguf"))) {
                assertThat(g.parts()).extracting(p -> p.getFileName().toString())
                        .containsExactly("model-00001-of-00003.gguf", "model-00002-of-00003.gguf", "model-00003-of-00003.gguf");
                assertThat(g.path()).isEqualTo(dir.resolve("model-00001-of-00003.gguf"));
                assertThat(g.architecture()).isEqualTo("llama");
                assertThat(g.metadata().getInt("llama.block_count", 0)).isEqualTo(7);
                assertThat(g.tensors()).extracting(GgufTensorInfo::name).containsExactly("t0", "t1", "t2", "t3", "t4");
                for (int t = 0; t < 5; t++) {
                    var data = g.tensorData("t" + t);
                    assertThat(data.byteSize()).isEqualTo(4L * 32 * (t + 1));
                    assertThat(data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0)).isEqualTo(t * 1000f);
                    assertThat(data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 32L * (t + 1) - 1)).isEqualTo(t * 1000f + 32 * (t + 1) - 1);
                }
                assertThat(g.fileSize()).isEqualTo(Files.size(g.parts().get(0)) + Files.size(g.parts().get(1)) + Files.size(g.parts().get(2)));
            }
        }
    }

    @Test
    void aMissingPartIsNamed() throws IOException {
        writeSplit("m", 5);
        Files.delete(dir.resolve("m-00002-of-00003.gguf"));
        assertThatThrownBy(() -> GgufReader.open(dir.resolve("m-00001-of-00003.gguf"))).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("m-00002-of-00003.gguf").hasMessageContaining("no such file");
    }

    @Test
    void aWrongTensorCountIsAnError() throws IOException {
        writeSplit("m", 6);
        assertThatThrownBy(() -> GgufReader.open(dir.resolve("m-00001-of-00003.gguf"))).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("split.tensors.count").hasMessageContaining("6");
    }

    @Test
    void aSplitPartWithAnUnexpectedNameIsAnError() throws IOException {
        writeSplit("m", 5);
        Path renamed = dir.resolve("renamed.gguf");
        Files.copy(dir.resolve("m-00001-of-00003.gguf"), renamed);
        assertThatThrownBy(() -> GgufReader.open(renamed)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(renamed.toString()).hasMessageContaining("split into 3 files");
    }

    @Test
    void partsInTheWrongOrderAreAnError() throws IOException {
        writeSplit("m", 5);
        Path two = dir.resolve("m-00002-of-00003.gguf"), three = dir.resolve("m-00003-of-00003.gguf"), tmp = dir.resolve("x");
        Files.move(two, tmp);
        Files.move(three, two);
        Files.move(tmp, three);
        assertThatThrownBy(() -> GgufReader.open(dir.resolve("m-00001-of-00003.gguf"))).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("should be part 2 of 3");
    }

    @Test
    void aFileNamedLikeASplitWithoutSplitMetadataIsOneFile() throws IOException {
        Path p = dir.resolve("solo-00001-of-00002.gguf");
        new GgufWriter().addTensor("x", new long[]{1}, GgmlType.I8, new byte[]{5}).write(p);
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.parts()).containsExactly(p);
            assertThat(g.tensorData("x").get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 5);
        }
    }
}
