package ai.armature.frontend.tools;

/**
 * Turns a model's generated text into content and tool calls, incrementally: text arrives in pieces as it is
 * decoded, and whatever can no longer be part of a tool-call marker is passed on at once. One instance per
 * choice; not thread-safe.
 */
public interface ToolCallParser {

    /** Feeds the next piece of generated text. */
    void accept(String text, ToolCallListener out);

    /** The output ended: flushes held-back text and completes an open tool call. */
    void finish(ToolCallListener out);

    /** Special-token texts this format needs to see in the decoded output (they are dropped from text otherwise). */
    default java.util.Set<String> specialTokens() {
        return java.util.Set.of();
    }
}
