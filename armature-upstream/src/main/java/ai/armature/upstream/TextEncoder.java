package ai.armature.upstream;

/**
 * The served model's tokenizer as the adapter needs it: text to token ids, without special-token parsing or BOS
 * (used only to re-tokenize the text of an upstream that returns no ids, see {@link TokenIdSource#TEXT}).
 */
@FunctionalInterface
public interface TextEncoder {

    int[] encode(String text);
}
