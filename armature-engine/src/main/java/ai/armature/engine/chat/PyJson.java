package ai.armature.engine.chat;

import java.util.Iterator;
import java.util.Map;

/**
 * JSON text the way Python's {@code json.dumps(x, ensure_ascii=False)} writes it (", " and ": " separators, or
 * an indent), which is what Hugging Face templates' {@code tojson} produces and what models were trained on.
 */
final class PyJson {
    private PyJson() {
    }

    static String dumps(Object v, int indent) {
        StringBuilder b = new StringBuilder();
        write(b, v, indent, 0);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v, int indent, int depth) {
        switch (v) {
            case null -> b.append("null");
            case String s -> quote(b, s);
            case Boolean x -> b.append(x ? "true" : "false");
            case Double d when d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e16 -> b.append(d.longValue()).append(".0");
            case Float f when f == Math.rint(f) && !Float.isInfinite(f) -> b.append((long) f.floatValue()).append(".0");
            case Number n -> b.append(n);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    b.append("{}");
                    return;
                }
                b.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    var e = it.next();
                    newline(b, indent, depth + 1);
                    quote(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), indent, depth + 1);
                    if (it.hasNext()) b.append(indent > 0 ? "," : ", ");
                }
                newline(b, indent, depth);
                b.append('}');
            }
            case Iterable<?> l -> {
                Iterator<?> it = l.iterator();
                if (!it.hasNext()) {
                    b.append("[]");
                    return;
                }
                b.append('[');
                while (it.hasNext()) {
                    newline(b, indent, depth + 1);
                    write(b, it.next(), indent, depth + 1);
                    if (it.hasNext()) b.append(indent > 0 ? "," : ", ");
                }
                newline(b, indent, depth);
                b.append(']');
            }
            case Object[] a -> write(b, java.util.Arrays.asList(a), indent, depth);
            default -> quote(b, v.toString());
        }
    }

    private static void newline(StringBuilder b, int indent, int depth) {
        if (indent <= 0) return;
        b.append('\n');
        b.append(" ".repeat(indent * depth));
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }
}
