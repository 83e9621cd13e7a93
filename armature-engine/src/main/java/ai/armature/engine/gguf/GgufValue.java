package ai.armature.engine.gguf;

/**
 * One metadata value with its GGUF type, so that writing it back reproduces the file exactly. Java
 * representation by type: UINT8/INT8 {@code Byte}, UINT16/INT16 {@code Short}, UINT32/INT32 {@code Integer},
 * UINT64/INT64 {@code Long} (unsigned values keep their bits), FLOAT32 {@code Float}, FLOAT64 {@code Double},
 * BOOL {@code Boolean}, STRING {@code String}, ARRAY {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {
}
