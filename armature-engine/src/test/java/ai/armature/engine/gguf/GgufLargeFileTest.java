package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Offsets beyond 2 GiB, on a sparse file so the test costs no disk space or time. */
class GgufLargeFileTest {

    @TempDir
    Path dir;

    @Test
    void tensorsBeyondTwoGibAreReadable() throws IOException {
        long bigElements = 3L << 28; // 3 GiB of F32
        long bigBytes = 4 * bigElements;
        byte[] header = new GgufBytes().header(3, 2, 1).kvString("general.architecture", "big")
                .tensor("big", new long[]{bigElements}, GgmlType.F32.id(), 0)
                .tensor("tail", new long[]{4}, GgmlType.F32.id(), bigBytes)
                .padTo(32).toArray();
        Path p = dir.resolve("big.gguf");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(header);
            f.setLength(header.length + bigBytes + 16); // sparse: the big tensor's bytes are a hole of zeros
            f.seek(header.length + bigBytes);
            for (float v : new float[]{1.5f, -2f, 3f, 4.25f}) f.writeInt(Integer.reverseBytes(Float.floatToRawIntBits(v)));
            f.seek(header.length + bigBytes - 4);
            f.writeInt(Integer.reverseBytes(Float.floatToRawIntBits(7f))); // last element of the big tensor
        }
        try (GgufFile g = GgufReader.open(p)) {
            GgufTensorInfo big = g.requireTensor("big");
            assertThat(big.byteSize()).isEqualTo(bigBytes);
            MemorySegment bigData = g.tensorData("big");
            assertThat(bigData.byteSize()).isEqualTo(bigBytes);
            var le = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertThat(bigData.getAtIndex(le, bigElements - 1)).isEqualTo(7f);
            assertThat(bigData.getAtIndex(le, bigElements / 2)).isZero();
            assertThat(g.tensor("tail").offset()).isEqualTo(bigBytes);
            assertThat(g.tensorData("tail").toArray(le)).containsExactly(1.5f, -2f, 3f, 4.25f);
            assertThat(g.fileSize()).isGreaterThan(1L << 31);
        }
    }
}
