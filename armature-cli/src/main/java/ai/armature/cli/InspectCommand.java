package ai.armature.cli;

import ai.armature.engine.gguf.GgufArray;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.gguf.GgufTensorInfo;
import ai.armature.engine.gguf.GgufValue;
import ai.armature.engine.gguf.GgufValueType;
import ai.armature.engine.tensor.GgmlType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code armature inspect FILE.gguf}: describes a GGUF model without loading it: format version, architecture and
 * hyperparameters, tokenizer, chat template, and how many tensors of each type it holds and how many bytes they
 * take. {@code --metadata} dumps every metadata key (long arrays and strings abbreviated), {@code --tensors} lists
 * every tensor.
 */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Describe a GGUF model file: metadata, hyperparameters, tokenizer and tensor summary.")
public final class InspectCommand implements Runnable {

    /** How many array elements {@code --metadata} shows before "...". */
    private static final int ARRAY_PREVIEW = 8;
    /** Longer strings are cut in summaries. */
    private static final int STRING_PREVIEW = 160;

    @Parameters(index = "0", paramLabel = "FILE.gguf", description = "The GGUF file (for a split model, any of its parts).")
    Path file;

    @Option(names = "--metadata", description = "Also print every metadata key and value.")
    boolean metadata;

    @Option(names = "--tensors", description = "Also list every tensor: name, type, shape and size.")
    boolean tensors;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile g = GgufReader.open(file)) {
            summary(g, out);
            if (metadata) dumpMetadata(g.metadata(), out);
            if (tensors) listTensors(g, out);
        }
        out.flush();
    }

    private static void summary(GgufFile g, PrintWriter out) {
        GgufMetadata m = g.metadata();
        String arch = m.getString("general.architecture");
        line(out, "file", g.path() + (g.parts().size() > 1 ? " (" + g.parts().size() + " parts)" : ""));
        line(out, "size", bytes(g.fileSize()));
        line(out, "GGUF version", Integer.toString(g.version()));
        line(out, "architecture", arch == null ? "(not set)" : arch);
        line(out, "name", orDash(m.getString("general.name")));
        if (arch != null) {
            line(out, "context length", value(m, arch + ".context_length"));
            line(out, "embedding length", value(m, arch + ".embedding_length"));
            line(out, "block count", value(m, arch + ".block_count"));
            line(out, "feed forward length", value(m, arch + ".feed_forward_length"));
            line(out, "attention heads", value(m, arch + ".attention.head_count"));
            line(out, "attention kv heads", value(m, arch + ".attention.head_count_kv"));
            line(out, "rope freq base", value(m, arch + ".rope.freq_base"));
            line(out, "rms norm epsilon", value(m, arch + ".attention.layer_norm_rms_epsilon"));
        }
        GgufArray tokens = m.get("tokenizer.ggml.tokens") != null && m.get("tokenizer.ggml.tokens").value() instanceof GgufArray a ? a : null;
        line(out, "vocab size", tokens == null ? "-" : Integer.toString(tokens.length()));
        String model = m.getString("tokenizer.ggml.model");
        String pre = m.getString("tokenizer.ggml.pre");
        line(out, "tokenizer", model == null ? "-" : model + (pre == null ? "" : " (pre-tokenizer: " + pre + ")"));
        String template = m.get("tokenizer.chat_template") != null && m.get("tokenizer.chat_template").value() instanceof String s ? s : null;
        line(out, "chat template", template == null ? "absent" : "present (" + template.length() + " chars)");
        line(out, "metadata keys", Integer.toString(m.keys().size()));
        line(out, "tensors", Integer.toString(g.tensorCount()));
        typeSummary(g, out);
    }

    private static void typeSummary(GgufFile g, PrintWriter out) {
        if (g.tensorCount() == 0) return;
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class); // type -> {count, bytes, elements}
        for (GgufTensorInfo t : g.tensors()) {
            long[] acc = byType.computeIfAbsent(t.type(), k -> new long[3]);
            acc[0]++;
            acc[1] += t.byteSize();
            acc[2] += t.elementCount();
        }
        out.printf(Locale.ROOT, "  %-8s %8s %18s %16s%n", "type", "tensors", "bytes", "parameters");
        long count = 0, total = 0, params = 0;
        for (Map.Entry<GgmlType, long[]> e : byType.entrySet()) {
            long[] acc = e.getValue();
            out.printf(Locale.ROOT, "  %-8s %8d %18s %16s%n", e.getKey(), acc[0], grouped(acc[1]), grouped(acc[2]));
            count += acc[0];
            total += acc[1];
            params += acc[2];
        }
        out.printf(Locale.ROOT, "  %-8s %8d %18s %16s%n", "total", count, grouped(total), grouped(params));
        line(out, "tensor bytes", bytes(total));
    }

    private static void dumpMetadata(GgufMetadata m, PrintWriter out) {
        out.println();
        out.println("metadata:");
        int width = 0;
        for (String k : m.keys()) width = Math.max(width, k.length());
        width = Math.min(width, 48);
        for (Map.Entry<String, GgufValue> e : m.asMap().entrySet()) {
            GgufValue v = e.getValue();
            out.printf(Locale.ROOT, "  %-" + width + "s  %-10s %s%n", e.getKey(), typeName(v), format(v.type(), v.value()));
        }
    }

    private static void listTensors(GgufFile g, PrintWriter out) {
        out.println();
        out.println("tensors:");
        int width = 0;
        for (GgufTensorInfo t : g.tensors()) width = Math.max(width, t.name().length());
        for (GgufTensorInfo t : g.tensors()) {
            out.printf(Locale.ROOT, "  %-" + width + "s  %-7s %-24s %16s%n", t.name(), t.type(), t.shape(), grouped(t.byteSize()));
        }
    }

    private static String typeName(GgufValue v) {
        if (v.value() instanceof GgufArray a) return "[" + a.elementType() + "]";
        return v.type().toString();
    }

    /** A value as text: unsigned types as unsigned, strings quoted and cut, arrays with their length and first elements. */
    static String format(GgufValueType type, Object v) {
        return switch (v) {
            case Byte b -> type == GgufValueType.UINT8 ? Integer.toString(b & 0xFF) : b.toString();
            case Short s -> type == GgufValueType.UINT16 ? Integer.toString(s & 0xFFFF) : s.toString();
            case Integer i -> type == GgufValueType.UINT32 ? Integer.toUnsignedString(i) : i.toString();
            case Long l -> type == GgufValueType.UINT64 ? Long.toUnsignedString(l) : l.toString();
            case String s -> quote(s);
            case GgufArray a -> formatArray(a);
            default -> String.valueOf(v);
        };
    }

    private static String formatArray(GgufArray a) {
        int n = a.length();
        StringBuilder sb = new StringBuilder().append(n).append(n == 1 ? " element: [" : " elements: [");
        for (int i = 0; i < Math.min(n, ARRAY_PREVIEW); i++) {
            if (i > 0) sb.append(", ");
            Object e = Array.get(a.elements(), i);
            sb.append(e instanceof GgufArray inner ? "[" + inner.elementType() + " x " + inner.length() + "]" : format(a.elementType(), e));
        }
        if (n > ARRAY_PREVIEW) sb.append(", ...");
        return sb.append(']').toString();
    }

    private static String quote(String s) {
        boolean cut = s.length() > STRING_PREVIEW;
        String shown = cut ? s.substring(0, STRING_PREVIEW) : s;
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < shown.length(); i++) {
            char c = shown.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
        if (cut) sb.append("... (").append(s.length()).append(" chars)");
        return sb.toString();
    }

    private static String value(GgufMetadata m, String key) {
        GgufValue v = m.get(key);
        return v == null ? "-" : format(v.type(), v.value());
    }

    private static String orDash(String s) {
        return s == null ? "-" : quoteIfOdd(s);
    }

    private static String quoteIfOdd(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < 0x20) return quote(s);
        return s.length() > STRING_PREVIEW ? quote(s) : s;
    }

    private static void line(PrintWriter out, String label, String value) {
        out.printf(Locale.ROOT, "%-20s %s%n", label, value);
    }

    private static String grouped(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String bytes(long n) {
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        if (n < 1024) return n + " bytes";
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.2f %s (%,d bytes)", v, units[u], n);
    }
}
