package ai.armature.engine.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order, with typed accessors. Integer accessors accept any GGUF
 * integer type (consumers should not care whether a writer chose UINT32 or INT32); a value of the wrong kind is a
 * {@link GgufFormatException} naming the key.
 */
public final class GgufMetadata {

    private final Map<String, GgufValue> values;

    public GgufMetadata(Map<String, GgufValue> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    public GgufValue get(String key) {
        return values.get(key);
    }

    public String getString(String key) {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.value() instanceof String s) return s;
        throw wrongType(key, "a string", v);
    }

    public String requireString(String key) {
        String s = getString(key);
        if (s == null) throw new GgufFormatException("missing required metadata key '" + key + "'");
        return s;
    }

    public long getLong(String key, long defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) return defaultValue;
        return switch (v.value()) {
            case Byte b -> v.type() == GgufValueType.UINT8 ? Byte.toUnsignedLong(b) : b;
            case Short s -> v.type() == GgufValueType.UINT16 ? Short.toUnsignedLong(s) : s;
            case Integer i -> v.type() == GgufValueType.UINT32 ? Integer.toUnsignedLong(i) : i;
            case Long l -> l;
            default -> throw wrongType(key, "an integer", v);
        };
    }

    public int getInt(String key, int defaultValue) {
        long l = getLong(key, defaultValue);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new GgufFormatException("metadata '" + key + "' = " + l + " is out of range");
        }
        return (int) l;
    }

    public int requireInt(String key) {
        if (!contains(key)) throw new GgufFormatException("missing required metadata key '" + key + "'");
        return getInt(key, 0);
    }

    public float getFloat(String key, float defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) return defaultValue;
        return switch (v.value()) {
            case Float f -> f;
            case Double d -> d.floatValue();
            case Byte b -> b;
            case Short s -> s;
            case Integer i -> i;
            case Long l -> l;
            default -> throw wrongType(key, "a number", v);
        };
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) return defaultValue;
        if (v.value() instanceof Boolean b) return b;
        throw wrongType(key, "a boolean", v);
    }

    public GgufArray getArray(String key) {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.value() instanceof GgufArray a) return a;
        throw wrongType(key, "an array", v);
    }

    public String[] getStringArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        if (a.elements() instanceof String[] s) return s;
        throw new GgufFormatException("metadata '" + key + "' should be an array of strings but is an array of " + a.elementType());
    }

    public float[] getFloatArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        return switch (a.elements()) {
            case float[] f -> f;
            case double[] d -> { float[] f = new float[d.length]; for (int i = 0; i < d.length; i++) f[i] = (float) d[i]; yield f; }
            default -> throw new GgufFormatException("metadata '" + key + "' should be an array of floats but is an array of " + a.elementType());
        };
    }

    /** An array of any integer type as ints (unsigned types widened; values beyond int range are an error). */
    public int[] getIntArray(String key) {
        GgufArray a = getArray(key);
        if (a == null) return null;
        boolean unsigned = a.elementType() == GgufValueType.UINT8 || a.elementType() == GgufValueType.UINT16;
        return switch (a.elements()) {
            case int[] i -> i;
            case byte[] b -> { int[] r = new int[b.length]; for (int i = 0; i < b.length; i++) r[i] = unsigned ? b[i] & 0xFF : b[i]; yield r; }
            case short[] s -> { int[] r = new int[s.length]; for (int i = 0; i < s.length; i++) r[i] = unsigned ? s[i] & 0xFFFF : s[i]; yield r; }
            case long[] l -> {
                int[] r = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    if (l[i] < Integer.MIN_VALUE || l[i] > Integer.MAX_VALUE) throw new GgufFormatException("metadata '" + key + "' has out-of-range element " + l[i]);
                    r[i] = (int) l[i];
                }
                yield r;
            }
            default -> throw new GgufFormatException("metadata '" + key + "' should be an array of integers but is an array of " + a.elementType());
        };
    }

    private static GgufFormatException wrongType(String key, String expected, GgufValue v) {
        return new GgufFormatException("metadata '" + key + "' should be " + expected + " but is " + v.type());
    }
}
