package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Malformed files must fail with a GgufFormatException that names the file: never another exception, never a hang. */
class GgufCorruptionTest {

    @TempDir
    Path dir;

    private byte[] valid;
    /** Where the data section starts and where the last tensor's bytes end in {@link #valid}. */
    private long dataOffset, dataEnd;

    @BeforeEach
    void writeValidFile() throws IOException {
        Path p = dir.resolve("valid.gguf");
        Random r = new Random(7);
        GgufRoundTripTest.everyValueType(new GgufWriter())
                .putString("general.architecture", "llama")
                .addTensor("token_embd.weight", new long[]{64, 3}, GgmlType.Q8_0, GgufRoundTripTest.randomBytes(r, GgmlType.Q8_0.bytesFor(192)))
                .addTensor("norm", new long[]{5}, new float[]{1, 2, 3, 4, 5})
                .addTensor("out", new long[]{256, 2}, GgmlType.Q4_K, GgufRoundTripTest.randomBytes(r, GgmlType.Q4_K.bytesFor(512)))
                .write(p);
        valid = Files.readAllBytes(p);
        try (GgufFile g = GgufReader.open(p)) {
            dataOffset = g.dataOffset();
            GgufTensorInfo last = g.tensors().getLast();
            dataEnd = dataOffset + last.offset() + last.byteSize();
        }
    }

    /** Opens {@code p}; if it fails, the failure must be a GgufFormatException naming the file. Returns it or null. */
    private static GgufFormatException openExpectingOnlyFormatErrors(Path p) {
        Throwable t = catchThrowable(() -> {
            try (GgufFile g = GgufReader.open(p)) {
                for (GgufTensorInfo info : g.tensors()) g.tensorData(info.name()); // every tensor must be readable
            }
        });
        if (t == null) return null;
        assertThat(t).as("opening %s", p).isInstanceOf(GgufFormatException.class);
        assertThat(t.getMessage()).startsWith(p.toString() + ": ");
        return (GgufFormatException) t;
    }

    @Test
    void truncationAtEveryByteOfTheHeaderFailsCleanly() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Path p = dir.resolve("truncated.gguf");
            Files.write(p, valid);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                // Every length from the end of the tensor infos (and padding) down to 0, shrinking one file in place.
                for (long len = dataOffset; len >= 0; len--) {
                    ch.truncate(len);
                    GgufFormatException e = openExpectingOnlyFormatErrors(p);
                    assertThat(e).as("a file truncated to %d bytes must not open", len).isNotNull();
                }
            }
        });
    }

    @Test
    void truncationInsideTheTensorDataFailsAtOpen() throws IOException {
        Random r = new Random(11);
        Path p = dir.resolve("short-data.gguf");
        for (int i = 0; i < 50; i++) {
            long len = dataOffset + 1 + r.nextLong(dataEnd - dataOffset - 1);
            Files.write(p, java.util.Arrays.copyOf(valid, (int) len));
            GgufFormatException e = openExpectingOnlyFormatErrors(p);
            assertThat(e).as("truncated to %d", len).isNotNull();
            assertThat(e.getMessage()).contains("extends past the end of the file");
        }
    }

    @Test
    void flippedHeaderBytesOpenOrFailCleanlyAndFast() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            Random r = new Random(1234);
            Path p = dir.resolve("flipped.gguf");
            int failures = 0;
            for (int i = 0; i < 400; i++) {
                byte[] b = valid.clone();
                int flips = 1 + r.nextInt(3);
                for (int f = 0; f < flips; f++) {
                    int at = r.nextInt((int) dataOffset);
                    b[at] = (byte) (i % 2 == 0 ? b[at] ^ (1 << r.nextInt(8)) : r.nextInt(256));
                }
                Files.write(p, b);
                if (openExpectingOnlyFormatErrors(p) != null) failures++;
            }
            assertThat(failures).as("most corruptions should be detected").isGreaterThan(100);
        });
    }

    @Test
    void wrongMagic() throws IOException {
        Path p = write("magic.gguf", new GgufBytes().raw((byte) 'G', (byte) 'G', (byte) 'M', (byte) 'L').u32(3).u64(0).u64(0).toArray());
        assertThatThrownBy(() -> GgufReader.open(p)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(p + ": not a GGUF file");
        Path empty = write("empty.gguf", new byte[0]);
        assertThatThrownBy(() -> GgufReader.open(empty)).isInstanceOf(GgufFormatException.class).hasMessageContaining("empty");
    }

    @Test
    void absurdArrayAndStringLengths() throws IOException {
        Path arr = write("arr.gguf", new GgufBytes().header(3, 0, 1)
                .string("big").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.UINT8.id()).u64(1L << 60).u64(0).toArray());
        assertThatThrownBy(() -> GgufReader.open(arr)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(arr.toString()).hasMessageContaining("absurd").hasMessageContaining("'big'");
        Path strArr = write("strarr.gguf", new GgufBytes().header(3, 0, 1)
                .string("big").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.STRING.id()).u64(1L << 60).toArray());
        assertThatThrownBy(() -> GgufReader.open(strArr)).isInstanceOf(GgufFormatException.class).hasMessageContaining("absurd");
        Path str = write("str.gguf", new GgufBytes().header(3, 0, 1)
                .string("s").u32(GgufValueType.STRING.id()).u64(1L << 60).raw(new byte[64]).toArray());
        assertThatThrownBy(() -> GgufReader.open(str)).isInstanceOf(GgufFormatException.class).hasMessageContaining("absurd length");
        Path key = write("key.gguf", new GgufBytes().header(3, 0, 1).u64(-1L).raw(new byte[64]).toArray());
        assertThatThrownBy(() -> GgufReader.open(key)).isInstanceOf(GgufFormatException.class).hasMessageContaining("absurd length");
        Path counts = write("counts.gguf", new GgufBytes().header(3, 1L << 40, 1L << 50).toArray());
        assertThatThrownBy(() -> GgufReader.open(counts)).isInstanceOf(GgufFormatException.class).hasMessageContaining("truncated or absurd count");
        GgufBytes deep = new GgufBytes().header(3, 0, 1).string("deep").u32(GgufValueType.ARRAY.id());
        for (int i = 0; i < 10_000; i++) deep.u32(GgufValueType.ARRAY.id()).u64(1);
        deep.u32(GgufValueType.UINT8.id()).u64(0);
        Path deepFile = write("deep.gguf", deep.toArray());
        assertThatThrownBy(() -> GgufReader.open(deepFile)).isInstanceOf(GgufFormatException.class).hasMessageContaining("nested");
    }

    @Test
    void badValues() throws IOException {
        Path type = write("type.gguf", new GgufBytes().header(3, 0, 1).string("k").u32(13).u32(0).toArray());
        assertThatThrownBy(() -> GgufReader.open(type)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("'k' has unknown value type 13");
        Path bool = write("bool.gguf", new GgufBytes().header(3, 0, 1).string("b").u32(GgufValueType.BOOL.id()).u8(2).toArray());
        assertThatThrownBy(() -> GgufReader.open(bool)).isInstanceOf(GgufFormatException.class).hasMessageContaining("boolean");
        Path dup = write("dup.gguf", new GgufBytes().header(3, 0, 2).kvU32("a", 1).kvU32("a", 2).toArray());
        assertThatThrownBy(() -> GgufReader.open(dup)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(dup.toString()).hasMessageContaining("duplicate metadata key 'a'");
        Path align = write("align.gguf", new GgufBytes().header(3, 0, 1).kvU32("general.alignment", 48).toArray());
        assertThatThrownBy(() -> GgufReader.open(align)).isInstanceOf(GgufFormatException.class).hasMessageContaining("power of two");
        Path alignType = write("align2.gguf", new GgufBytes().header(3, 0, 1).kvString("general.alignment", "32").toArray());
        assertThatThrownBy(() -> GgufReader.open(alignType)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(alignType.toString()).hasMessageContaining("general.alignment");
    }

    /** A file with one tensor info and {@code dataBytes} bytes of data after the aligned data offset. */
    private Path tensorFile(String name, long[] dims, int type, long offset, int dataBytes) throws IOException {
        GgufBytes b = new GgufBytes().header(3, 1, 0).tensor("x", dims, type, offset).padTo(32).raw(new byte[dataBytes]);
        return write(name, b.toArray());
    }

    @Test
    void badTensorInfos() throws IOException {
        Path unknown = tensorFile("unknown.gguf", new long[]{4}, 99, 0, 64);
        assertThatThrownBy(() -> GgufReader.open(unknown)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(unknown.toString()).hasMessageContaining("tensor 'x' has unknown type 99");
        Path outside = tensorFile("outside.gguf", new long[]{4}, GgmlType.F32.id(), 64, 64);
        assertThatThrownBy(() -> GgufReader.open(outside)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("tensor 'x'").hasMessageContaining("past the end of the file");
        Path huge = tensorFile("huge.gguf", new long[]{4}, GgmlType.F32.id(), Long.MAX_VALUE - 31, 64);
        assertThatThrownBy(() -> GgufReader.open(huge)).isInstanceOf(GgufFormatException.class);
        Path negative = tensorFile("negative.gguf", new long[]{4}, GgmlType.F32.id(), -32, 64);
        assertThatThrownBy(() -> GgufReader.open(negative)).isInstanceOf(GgufFormatException.class).hasMessageContaining("absurd offset");
        Path misaligned = tensorFile("misaligned.gguf", new long[]{4}, GgmlType.F32.id(), 4, 64);
        assertThatThrownBy(() -> GgufReader.open(misaligned)).isInstanceOf(GgufFormatException.class).hasMessageContaining("alignment");
        Path dims5 = tensorFile("dims5.gguf", new long[]{1, 1, 1, 1, 1}, GgmlType.F32.id(), 0, 64);
        assertThatThrownBy(() -> GgufReader.open(dims5)).isInstanceOf(GgufFormatException.class).hasMessageContaining("5 dimensions");
        Path dim0 = tensorFile("dim0.gguf", new long[]{4, 0}, GgmlType.F32.id(), 0, 64);
        assertThatThrownBy(() -> GgufReader.open(dim0)).isInstanceOf(GgufFormatException.class).hasMessageContaining("dimension 1 = 0");
        Path overflow = tensorFile("overflow.gguf", new long[]{1L << 32, 1L << 32}, GgmlType.F32.id(), 0, 64);
        assertThatThrownBy(() -> GgufReader.open(overflow)).isInstanceOf(GgufFormatException.class).hasMessageContaining("absurd");
        Path block = tensorFile("block.gguf", new long[]{33}, GgmlType.Q4_0.id(), 0, 64);
        assertThatThrownBy(() -> GgufReader.open(block)).isInstanceOf(GgufFormatException.class).hasMessageContaining("block size 32");

        Path dupTensor = write("duptensor.gguf", new GgufBytes().header(3, 2, 0)
                .tensor("x", new long[]{8}, GgmlType.F32.id(), 0).tensor("x", new long[]{8}, GgmlType.F32.id(), 32)
                .padTo(32).raw(new byte[64]).toArray());
        assertThatThrownBy(() -> GgufReader.open(dupTensor)).isInstanceOf(GgufFormatException.class).hasMessageContaining("duplicate tensor name 'x'");
        Path overlap = write("overlap.gguf", new GgufBytes().header(3, 2, 0)
                .tensor("a", new long[]{16}, GgmlType.F32.id(), 0).tensor("b", new long[]{8}, GgmlType.F32.id(), 32)
                .padTo(32).raw(new byte[64]).toArray());
        assertThatThrownBy(() -> GgufReader.open(overlap)).isInstanceOf(GgufFormatException.class).hasMessageContaining("overlap");
    }

    @Test
    void ioProblemsAreFormatErrorsNamingTheFile() {
        Path missing = dir.resolve("missing.gguf");
        assertThatThrownBy(() -> GgufReader.open(missing)).isInstanceOf(GgufFormatException.class)
                .hasMessage(missing + ": no such file");
        assertThatThrownBy(() -> GgufReader.open(dir)).isInstanceOf(GgufFormatException.class)
                .hasMessageStartingWith(dir.toString()).hasMessageContaining("directory");
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }
}
