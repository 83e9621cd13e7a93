package ai.armature.engine.gguf;

import ai.armature.engine.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufRoundTripTest {

    @TempDir
    Path dir;

    /** One value of every type, arrays of every element type (empty ones too), and nested arrays. */
    static GgufWriter everyValueType(GgufWriter w) {
        w.putUint8("t.u8", (byte) 0xFE).putInt8("t.i8", (byte) -5)
                .putUint16("t.u16", (short) 0xFFFE).putInt16("t.i16", (short) -300)
                .putUint32("t.u32", 0xFFFF_FFF0).putInt32("t.i32", -70000)
                .putUint64("t.u64", -2L).putInt64("t.i64", Long.MIN_VALUE)
                .putFloat32("t.f32", 1.5e-6f).putFloat64("t.f64", Math.PI)
                .putFloat32("t.nan", Float.intBitsToFloat(0x7fc00001))
                .putBool("t.true", true).putBool("t.false", false)
                .putString("t.string", "héllo ▁wörld 🦙\n\"{{ template }}\"")
                .putString("t.empty", "");
        w.putArray("a.u8", new GgufArray(GgufValueType.UINT8, new byte[]{0, 1, (byte) 255}));
        w.putArray("a.i8", new GgufArray(GgufValueType.INT8, new byte[]{-128, 127}));
        w.putArray("a.u16", new GgufArray(GgufValueType.UINT16, new short[]{(short) 65535, 1}));
        w.putArray("a.i16", new GgufArray(GgufValueType.INT16, new short[]{-1, 2, -3}));
        w.putArray("a.u32", new GgufArray(GgufValueType.UINT32, new int[]{-1, 7}));
        w.putArray("a.i32", new GgufArray(GgufValueType.INT32, new int[]{Integer.MIN_VALUE, 0, 42}));
        w.putArray("a.u64", new GgufArray(GgufValueType.UINT64, new long[]{-1L}));
        w.putArray("a.i64", new GgufArray(GgufValueType.INT64, new long[]{Long.MAX_VALUE, -9}));
        w.putArray("a.f32", new GgufArray(GgufValueType.FLOAT32, new float[]{0f, -0f, Float.NEGATIVE_INFINITY, 3.25f}));
        w.putArray("a.f64", new GgufArray(GgufValueType.FLOAT64, new double[]{1e300, -2.5}));
        w.putArray("a.bool", new GgufArray(GgufValueType.BOOL, new boolean[]{true, false, true}));
        w.putStringArray("a.string", "<s>", "", "▁the", "Ġworld", "日本");
        w.putArray("a.empty", new GgufArray(GgufValueType.FLOAT32, new float[0]));
        w.putArray("a.empty_strings", new GgufArray(GgufValueType.STRING, new String[0]));
        GgufArray inner1 = new GgufArray(GgufValueType.INT32, new int[]{1, 2, 3});
        GgufArray inner2 = new GgufArray(GgufValueType.STRING, new String[]{"x", "y"});
        GgufArray innerEmpty = new GgufArray(GgufValueType.BOOL, new boolean[0]);
        w.putArray("a.nested", new GgufArray(GgufValueType.ARRAY, new GgufArray[]{inner1, inner2, innerEmpty}));
        w.putArray("a.nested2", new GgufArray(GgufValueType.ARRAY, new GgufArray[]{
                new GgufArray(GgufValueType.ARRAY, new GgufArray[]{inner1, new GgufArray(GgufValueType.ARRAY, new GgufArray[0])})}));
        return w;
    }

    static byte[] randomBytes(Random r, long n) {
        byte[] b = new byte[Math.toIntExact(n)];
        r.nextBytes(b);
        return b;
    }

    @Test
    void everyValueTypeAndSeveralTensorTypesRoundTripExactly() throws IOException {
        Random r = new Random(42);
        GgufWriter w = everyValueType(new GgufWriter()).putString("general.architecture", "llama");
        float[] f32 = new float[7 * 3];
        for (int i = 0; i < f32.length; i++) f32[i] = r.nextFloat() - 0.5f;
        byte[] q40 = randomBytes(r, GgmlType.Q4_0.bytesFor(96L * 5));
        byte[] q80 = randomBytes(r, GgmlType.Q8_0.bytesFor(32L * 3 * 2 * 2));
        byte[] q4k = randomBytes(r, GgmlType.Q4_K.bytesFor(256L * 3));
        byte[] f16 = randomBytes(r, GgmlType.F16.bytesFor(5L * 3 * 1 * 2));
        byte[] i8 = randomBytes(r, 1); // a one-byte tensor, to exercise padding
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q80seg = arena.allocate(q80.length);
            q80seg.copyFrom(MemorySegment.ofArray(q80));
            w.addTensor("f32.odd", new long[]{7, 3}, f32)
                    .addTensor("i8.one", new long[]{1}, GgmlType.I8, i8)
                    .addTensor("q4_0", new long[]{96, 5}, GgmlType.Q4_0, q40)
                    .addTensor("q8_0.4d", new long[]{32, 3, 2, 2}, GgmlType.Q8_0, q80seg)
                    .addTensor("q4_k", new long[]{256, 3}, GgmlType.Q4_K, out -> out.write(q4k))
                    .addTensor("f16.4d", new long[]{5, 3, 1, 2}, GgmlType.F16, f16);
            Path p = dir.resolve("all.gguf");
            long size = w.write(p);
            assertThat(Files.size(p)).isEqualTo(size);
            assertThat(size % 32).isZero();
            assertThat(dir.toFile().list()).containsExactly("all.gguf"); // no temporary file left behind

            try (GgufFile g = GgufReader.open(p)) {
                assertThat(g.version()).isEqualTo(3);
                assertThat(g.path()).isEqualTo(p);
                assertThat(g.alignment()).isEqualTo(32);
                assertThat(g.architecture()).isEqualTo("llama");
                assertThat(List.copyOf(g.metadata().keys())).isEqualTo(List.copyOf(w.metadata().keys()));
                assertThat(g.metadata().asMap()).isEqualTo(w.metadata().asMap());
                assertThat(g.tensors()).isEqualTo(w.tensorInfos());
                assertThat(g.tensors()).extracting(GgufTensorInfo::name)
                        .containsExactly("f32.odd", "i8.one", "q4_0", "q8_0.4d", "q4_k", "f16.4d");
                for (GgufTensorInfo t : g.tensors()) {
                    assertThat((g.dataOffset() + t.offset()) % 32).as(t.name()).isZero();
                    assertThat(g.tensorData(t).byteSize()).isEqualTo(t.byteSize());
                }
                float[] back = g.tensorData("f32.odd").toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                assertThat(back).containsExactly(f32);
                assertThat(bytes(g.tensorData("i8.one"))).isEqualTo(i8);
                assertThat(bytes(g.tensorData("q4_0"))).isEqualTo(q40);
                assertThat(bytes(g.tensorData("q8_0.4d"))).isEqualTo(q80);
                assertThat(bytes(g.tensorData("q4_k"))).isEqualTo(q4k);
                assertThat(bytes(g.tensorData("f16.4d"))).isEqualTo(f16);
                GgufTensorInfo t = g.requireTensor("f16.4d");
                assertThat(t.dims()).containsExactly(5, 3, 1, 2);
                assertThat(t.elementCount()).isEqualTo(30);
                assertThat(t.byteSize()).isEqualTo(60);
                assertThat(t.dim(3)).isEqualTo(2);
                assertThat(g.tensor("f32.odd").dim(2)).isEqualTo(1);
                assertThat(g.tensorData("q4_0").isReadOnly()).isTrue();
                assertThat(g.tensorBytes()).isEqualTo(f32.length * 4L + 1 + q40.length + q80.length + q4k.length + f16.length);

                // Typed accessors see through the types the writer chose.
                GgufMetadata m = g.metadata();
                assertThat(m.getLong("t.u32", 0)).isEqualTo(0xFFFF_FFF0L);
                assertThat(m.getLong("t.u8", 0)).isEqualTo(0xFE);
                assertThat(m.getStringArray("a.string")).containsExactly("<s>", "", "▁the", "Ġworld", "日本");
                assertThat(m.getArray("a.nested").elements()).isInstanceOf(GgufArray[].class);
                assertThat(Float.floatToRawIntBits((Float) m.get("t.nan").value())).isEqualTo(0x7fc00001);
            }
        }
    }

    @Test
    void missingTensorIsNullOrAClearError() throws IOException {
        Path p = dir.resolve("m.gguf");
        new GgufWriter().addTensor("a", new long[]{2}, new float[]{1, 2}).write(p);
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.tensor("b")).isNull();
            assertThat(g.findTensor("b")).isNull();
            assertThat(g.hasTensor("a")).isTrue();
            assertThatThrownBy(() -> g.requireTensor("b")).isInstanceOf(GgufFormatException.class)
                    .hasMessageStartingWith(p.toString()).hasMessageContaining("'b'");
            assertThatThrownBy(() -> g.tensorData("b")).isInstanceOf(GgufFormatException.class).hasMessageContaining("'b'");
        }
    }

    @Test
    void closedFileRefusesData() throws IOException {
        Path p = dir.resolve("c.gguf");
        new GgufWriter().addTensor("a", new long[]{2}, new float[]{1, 2}).write(p);
        GgufFile g = GgufReader.open(p);
        MemorySegment seg = g.tensorData("a");
        g.close();
        g.close();
        assertThatThrownBy(() -> g.tensorData("a")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> seg.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void customAlignmentIsHonoured() throws IOException {
        for (int alignment : new int[]{1, 8, 64, 4096}) {
            Path p = dir.resolve("a" + alignment + ".gguf");
            GgufWriter w = new GgufWriter().alignment(alignment).putString("k", "abc")
                    .addTensor("x", new long[]{3}, new float[]{1, 2, 3})
                    .addTensor("y", new long[]{1}, GgmlType.I8, new byte[]{9})
                    .addTensor("z", new long[]{5}, new float[]{4, 5, 6, 7, 8});
            w.write(p);
            try (GgufFile g = GgufReader.open(p)) {
                assertThat(g.alignment()).isEqualTo(alignment);
                assertThat(g.dataOffset() % alignment).isZero();
                for (GgufTensorInfo t : g.tensors()) assertThat(t.offset() % alignment).isZero();
                assertThat(g.tensors()).isEqualTo(w.tensorInfos());
                assertThat(g.tensorData("z").getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 4)).isEqualTo(8f);
                assertThat(g.metadata().get("general.alignment")).isEqualTo(new GgufValue(GgufValueType.UINT32, alignment));
            }
        }
    }

    @Test
    void metadataOnlyFileRoundTripsAndRewritesIdentically() throws IOException {
        Path p = dir.resolve("meta.gguf");
        everyValueType(new GgufWriter()).write(p);
        Path q = dir.resolve("meta2.gguf");
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.tensors()).isEmpty();
            new GgufWriter().putAll(g.metadata()).write(q);
        }
        assertThat(Files.readAllBytes(q)).isEqualTo(Files.readAllBytes(p));
    }

    @Test
    void writerRefusesInconsistentInput() {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.put("k", new GgufValue(GgufValueType.UINT32, 1L))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putArray("k", new GgufArray(GgufValueType.INT32, new long[]{1}))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putString("k", "bad \uD800 surrogate")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.alignment(48)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("t", new long[]{33}, GgmlType.Q4_0, new byte[18 * 2]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block size");
        assertThatThrownBy(() -> w.addTensor("t", new long[]{4}, new float[3])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("t", new long[]{1, 1, 1, 1, 1}, new float[1])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("t", new long[]{0}, new float[0])).isInstanceOf(IllegalArgumentException.class);
        w.addTensor("t", new long[]{1}, new float[1]);
        assertThatThrownBy(() -> w.addTensor("t", new long[]{1}, new float[1])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("duplicate");
    }

    @Test
    void aSourceWritingTheWrongSizeFailsAndLeavesNoFile() throws IOException {
        Path p = dir.resolve("bad.gguf");
        Files.write(p, new byte[]{1, 2, 3}); // an earlier file stays
        GgufWriter w = new GgufWriter().addTensor("t", new long[]{4}, GgmlType.F32, out -> out.write(new byte[15]));
        assertThatThrownBy(() -> w.write(p)).isInstanceOf(IllegalStateException.class).hasMessageContaining("'t'").hasMessageContaining("15");
        assertThat(Files.readAllBytes(p)).containsExactly(1, 2, 3);
        assertThat(dir.toFile().list()).containsExactly("bad.gguf");
    }

    @Test
    void tensorsAreStreamedOneAtATime() throws IOException {
        // A source is called only when its tensor is written, in order.
        StringBuilder calls = new StringBuilder();
        GgufWriter w = new GgufWriter();
        for (int i = 0; i < 5; i++) {
            int k = i;
            w.addTensor("t" + i, new long[]{64}, GgmlType.F32, out -> {
                calls.append(k);
                for (int j = 0; j < 64; j++) out.write(new byte[]{0, 0, (byte) 0x80, 0x3f}); // 1.0f
            });
        }
        assertThat(calls).isEmpty();
        Path p = dir.resolve("s.gguf");
        w.write(p);
        assertThat(calls.toString()).isEqualTo("01234");
        try (GgufFile g = GgufReader.open(p)) {
            assertThat(g.tensorData("t3").getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 63)).isEqualTo(1f);
        }
    }

    static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }
}
