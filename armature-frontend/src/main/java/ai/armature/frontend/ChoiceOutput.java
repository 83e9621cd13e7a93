package ai.armature.frontend;

import ai.armature.frontend.tools.ReasoningParser;
import ai.armature.frontend.tools.ToolCallListener;
import ai.armature.frontend.tools.ToolCallParser;

import java.util.ArrayList;
import java.util.List;

/**
 * What one choice's text becomes: reasoning (the text inside {@code <think>...</think>} when a reasoning parser is
 * on), content, and tool calls (when a tool-call parser is on). The decoded text of each step goes through the
 * reasoning parser first, its answer part through the tool-call parser; the pieces go to a {@link Listener} as
 * they are decided (streaming) and are also kept whole (non-streaming bodies, and the "done" events of the APIs
 * that send them). Counts the tokens spent reasoning. One per choice; not thread-safe.
 */
final class ChoiceOutput {

    /** Receives a choice's output in order: reasoning, content, and tool calls as OpenAI streams them. */
    interface Listener extends ToolCallListener {
        void reasoning(String text);
    }

    /** A listener that ignores everything (the whole output is read at the end). */
    static final Listener IGNORE = new Listener() {
        @Override
        public void reasoning(String text) {
        }

        @Override
        public void content(String text) {
        }

        @Override
        public void toolCallBegin(int index, String id, String name) {
        }

        @Override
        public void toolCallArguments(int index, String fragment) {
        }
    };

    /** A tool call as a whole. */
    record Call(String id, String name, String arguments) {
    }

    private final ReasoningParser reasoningParser;
    private final ToolCallParser toolParser;
    private final StringBuilder reasoning = new StringBuilder();
    private final StringBuilder content = new StringBuilder();
    private final List<String> callIds = new ArrayList<>();
    private final List<String> callNames = new ArrayList<>();
    private final List<StringBuilder> callArguments = new ArrayList<>();
    private int reasoningTokens;
    private Listener out = IGNORE;
    private boolean reasonedThisStep;

    /** Both parsers may be null (that kind of parsing is off). */
    ChoiceOutput(ReasoningParser reasoningParser, ToolCallParser toolParser) {
        this.reasoningParser = reasoningParser;
        this.toolParser = toolParser;
    }

    /** Whether this output only passes text through (no parser), so callers may keep their plain-text path. */
    boolean plain() {
        return reasoningParser == null && toolParser == null;
    }

    /** Feeds the text one step decoded from {@code tokens} generated tokens. */
    void accept(CharSequence text, int tokens, Listener listener) {
        out = listener;
        if (reasoningParser == null) {
            answer(text.toString());
            return;
        }
        boolean wasReasoning = reasoningParser.inReasoning();
        reasonedThisStep = false;
        if (!text.isEmpty()) reasoningParser.accept(text.toString(), split);
        if (wasReasoning || reasonedThisStep || reasoningParser.inReasoning()) reasoningTokens += tokens;
    }

    /** The choice ended: flushes what the parsers held back and completes an open tool call. */
    void finish(Listener listener) {
        out = listener;
        if (reasoningParser != null) reasoningParser.finish(split);
        if (toolParser != null) toolParser.finish(collector);
    }

    private final ReasoningParser.Listener split = new ReasoningParser.Listener() {
        @Override
        public void reasoning(String text) {
            reasonedThisStep = true;
            reasoning.append(text);
            out.reasoning(text);
        }

        @Override
        public void content(String text) {
            answer(text);
        }
    };

    private void answer(String text) {
        if (text.isEmpty()) return;
        if (toolParser == null) collector.content(text);
        else toolParser.accept(text, collector);
    }

    private final ToolCallListener collector = new ToolCallListener() {
        @Override
        public void content(String text) {
            if (text.isEmpty()) return;
            content.append(text);
            out.content(text);
        }

        @Override
        public void toolCallBegin(int index, String id, String name) {
            callIds.add(id);
            callNames.add(name);
            callArguments.add(new StringBuilder());
            out.toolCallBegin(index, id, name);
        }

        @Override
        public void toolCallArguments(int index, String fragment) {
            if (fragment.isEmpty()) return;
            callArguments.get(index).append(fragment);
            out.toolCallArguments(index, fragment);
        }
    };

    String reasoning() {
        return reasoning.toString();
    }

    String content() {
        return content.toString();
    }

    List<Call> calls() {
        List<Call> calls = new ArrayList<>(callIds.size());
        for (int i = 0; i < callIds.size(); i++) calls.add(new Call(callIds.get(i), callNames.get(i), callArguments.get(i).toString()));
        return calls;
    }

    boolean calledTools() {
        return !callIds.isEmpty();
    }

    /** Generated tokens spent on reasoning (those decoded while the reply was inside its reasoning). */
    int reasoningTokens() {
        return reasoningTokens;
    }
}
