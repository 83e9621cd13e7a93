package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Versions: v2 has the same layout as v3 (64-bit counts and lengths; v3 only added big-endian files), v1 used
 * 32-bit counts and is refused, as are big-endian files.
 */
class GgufVersionsTest {

    @TempDir
    Path dir;

    @Test
    void readsAHandWrittenVersion2File() throws IOException {
        GgufBytes b = new GgufBytes().header(2, 2, 4)
                .kvString("general.architecture", "llama")
                .kvU32("llama.block_count", 2)
                .string("tokenizer.ggml.tokens").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.STRING.id()).u64(3)
                .string("<unk>").string("a").string("b")
                .string("general.alignment").u32(GgufValueType.UINT32.id()).u32(16)
                .tensor("w", new long[]{2, 2}, GgmlType.F32.id(), 0)
                .tensor("v", new long[]{3}, GgmlType.F32.id(), 16)
                .padTo(16);
        int dataOffset = b.size();
        b.f32(1).f32(2).f32(3).f32(4).f32(5).f32(6).f32(7);
        Path p = dir.resolve("v2.gguf");
        Files.write(p, b.toArray());
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.version()).isEqualTo(2);
            assertThat(g.architecture()).isEqualTo("llama");
            assertThat(g.metadata().getInt("llama.block_count", 0)).isEqualTo(2);
            assertThat(g.metadata().getStringArray("tokenizer.ggml.tokens")).containsExactly("<unk>", "a", "b");
            assertThat(g.alignment()).isEqualTo(16);
            assertThat(g.dataOffset()).isEqualTo(dataOffset);
            assertThat(g.tensor("w").dims()).containsExactly(2, 2);
            var le = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertThat(g.tensorData("w").toArray(le)).containsExactly(1, 2, 3, 4);
            assertThat(g.tensorData("v").toArray(le)).containsExactly(5, 6, 7);
        }
    }

    @Test
    void refusesVersion1() throws IOException {
        Path p = dir.resolve("v1.gguf");
        // v1: 32-bit tensor and kv counts.
        Files.write(p, new GgufBytes().magic().u32(1).u32(0).u32(0).toArray());
        assertThatThrownBy(() -> GgufReader.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(p.toString()).hasMessageContaining("version 1").hasMessageContaining("not supported");
    }

    @Test
    void refusesBigEndianAndFutureVersions() throws IOException {
        Path be = dir.resolve("be.gguf");
        Files.write(be, new GgufBytes().magic().raw(new byte[]{0, 0, 0, 3}).u64(0).u64(0).toArray());
        assertThatThrownBy(() -> GgufReader.open(be)).isInstanceOf(GgufFormatException.class).hasMessageContaining("big-endian");
        Path v9 = dir.resolve("v9.gguf");
        Files.write(v9, new GgufBytes().header(9, 0, 0).toArray());
        assertThatThrownBy(() -> GgufReader.open(v9)).isInstanceOf(GgufFormatException.class).hasMessageContaining("version 9");
    }
}
