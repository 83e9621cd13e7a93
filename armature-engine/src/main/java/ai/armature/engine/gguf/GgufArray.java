package ai.armature.engine.gguf;

import java.util.Arrays;

/**
 * A GGUF metadata array: its element type and its elements as a Java array: {@code byte[]} (UINT8/INT8),
 * {@code short[]}, {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code boolean[]},
 * {@code String[]}, or {@code GgufArray[]} for nested arrays.
 */
public record GgufArray(GgufValueType elementType, Object elements) {

    public int length() {
        return java.lang.reflect.Array.getLength(elements);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType && Arrays.deepEquals(new Object[]{elements}, new Object[]{a.elements});
    }

    @Override
    public int hashCode() {
        return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[]{elements});
    }
}
