package ai.armature.frontend.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tool-call and reasoning parsers on scripted model outputs, fed whole and in random pieces (as tokens arrive):
 * the same content and calls either way, arguments that parse as the JSON the model wrote, and streamed argument
 * fragments that concatenate to the whole.
 */
class ParsersTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    record Call(int index, String id, String name, StringBuilder args) {
    }

    static final class Collected implements ToolCallListener {
        final StringBuilder content = new StringBuilder();
        final List<Call> calls = new ArrayList<>();
        int fragments;

        @Override
        public void content(String text) {
            content.append(text);
        }

        @Override
        public void toolCallBegin(int index, String id, String name) {
            assertThat(index).isEqualTo(calls.size());
            if (id.startsWith("call_")) assertThat(id).hasSize(29);
            else assertThat(id).as("a Mistral id").matches("[A-Za-z0-9]{9}");
            calls.add(new Call(index, id, name, new StringBuilder()));
        }

        @Override
        public void toolCallArguments(int index, String fragment) {
            calls.get(index).args.append(fragment);
            fragments++;
        }
    }

    static Collected run(ToolCallParser p, String output, SplittableRandom r) {
        Collected c = new Collected();
        int i = 0;
        while (i < output.length()) {
            int n = r == null ? output.length() : 1 + r.nextInt(6);
            int end = Math.min(output.length(), i + n);
            p.accept(output.substring(i, end), c);
            i = end;
        }
        p.finish(c);
        return c;
    }

    static void check(String parser, String output, String content, String... namesAndArgs) throws Exception {
        check(ToolCallParsers.named(parser), output, content, namesAndArgs);
    }

    static void check(java.util.function.Supplier<ToolCallParser> parser, String output, String content, String... namesAndArgs) throws Exception {
        SplittableRandom r = new SplittableRandom(output.hashCode());
        for (int trial = 0; trial < 20; trial++) {
            Collected c = run(parser.get(), output, trial == 0 ? null : r);
            assertThat(c.content.toString().strip()).as("content of %s (trial %d)", output, trial).isEqualTo(content);
            assertThat(c.calls).hasSize(namesAndArgs.length / 2);
            for (int i = 0; i < c.calls.size(); i++) {
                assertThat(c.calls.get(i).name()).isEqualTo(namesAndArgs[2 * i]);
                assertThat(JSON.readTree(c.calls.get(i).args().toString())).as(c.calls.get(i).args().toString())
                        .isEqualTo(JSON.readTree(namesAndArgs[2 * i + 1]));
            }
        }
    }

    @Test
    void hermes() throws Exception {
        check("hermes", "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": [1, {\"x\": \"}\"}]}}\n</tool_call>",
                "Let me look.", "get_weather", "{\"city\": \"Paris\", \"days\": [1, {\"x\": \"}\"}]}");
        check("hermes", "<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call>\n<tool_call>{\"arguments\":{\"q\":1},\"name\":\"b\"}</tool_call>",
                "", "a", "{}", "b", "{\"q\":1}");
        check("hermes", "no calls here, just <tool and text", "no calls here, just <tool and text");
        check("hermes", "<tool_call>not json</tool_call> after", "<tool_call>not json</tool_call> after");
        // Cut off before the closing tag: the complete object still counts.
        check("hermes", "<tool_call>{\"name\": \"f\", \"arguments\": {\"k\": \"v\"}}", "", "f", "{\"k\": \"v\"}");
    }

    @Test
    void hermesStreamsArgumentsAsTheyArrive() {
        String out = "<tool_call>{\"name\": \"f\", \"arguments\": {\"text\": \"a long value that arrives in pieces\"}}</tool_call>";
        Collected c = run(ToolCallParsers.named("hermes").get(), out, new SplittableRandom(1));
        assertThat(c.fragments).isGreaterThan(3);
        assertThat(c.calls.getFirst().args().toString()).isEqualTo("{\"text\": \"a long value that arrives in pieces\"}");
    }

    @Test
    void llama3Json() throws Exception {
        check("llama3_json", "{\"name\": \"search\", \"parameters\": {\"query\": \"java\"}}", "", "search", "{\"query\": \"java\"}");
        check("llama3_json", "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": {}}", "", "a", "{\"x\": 1}", "b", "{}");
        check("llama3_json", "The answer is 42.", "The answer is 42.");
        check("llama3_json", "{\"not\": \"a call\"}", "{\"not\": \"a call\"}");
    }

    @Test
    void mistral() throws Exception {
        check("mistral", "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}, {\"name\": \"neg\", \"arguments\": {\"a\": 3}}]",
                "", "add", "{\"a\": 1, \"b\": 2}", "neg", "{\"a\": 3}");
        check("mistral", "Sure.[TOOL_CALLS]lookup[ARGS]{\"id\": 7}", "Sure.", "lookup", "{\"id\": 7}");
        check("mistral", "[TOOL_C is not the marker", "[TOOL_C is not the marker");
    }

    @Test
    void forcedCalls() throws Exception {
        check(ForcedCallsParser::required, "[{\"name\": \"add\", \"parameters\": {\"a\": 1, \"s\": \"}{\"}}, {\"name\": \"neg\", \"parameters\": {}}]",
                "", "add", "{\"a\": 1, \"s\": \"}{\"}", "neg", "{}");
        check(ForcedCallsParser::required, " [ {\"name\":\"f\",\"parameters\":{\"k\":[1,2]}} ] ", "", "f", "{\"k\":[1,2]}");
        check(() -> ForcedCallsParser.named("lookup"), " {\"id\": 7, \"tags\": [\"a\"]}", "", "lookup", "{\"id\": 7, \"tags\": [\"a\"]}");
        Collected streamed = run(ForcedCallsParser.required(), "[{\"name\": \"f\", \"parameters\": {\"text\": \"arrives in many small pieces\"}}]",
                new SplittableRandom(3));
        assertThat(streamed.fragments).isGreaterThan(3);
    }

    @Test
    void parserFromTemplate() {
        assertThat(ToolCallParsers.forTemplate("{% for tool in tools %}<tool_call>{{ tool }}</tool_call>{% endfor %}")).isEqualTo("hermes");
        assertThat(ToolCallParsers.forTemplate("{{- \"<|python_tag|>\" }}")).isEqualTo("llama3_json");
        assertThat(ToolCallParsers.forTemplate("[TOOL_CALLS] {{ calls }}")).isEqualTo("mistral");
        assertThat(ToolCallParsers.forTemplate("{{ messages }}")).isNull();
    }

    @Test
    void reasoningParserFromThePromptsEnd() {
        assertThat(ReasoningParser.create("qwen3", "<|im_start|>assistant\n<think>\n").inReasoning()).isTrue();
        assertThat(ReasoningParser.create("qwen3", "<|im_start|>assistant\n").inReasoning()).isFalse();
        assertThat(ReasoningParser.create("qwen3", "<think>\n\n</think>\n\n").inReasoning()).isFalse();
        assertThat(ReasoningParser.create("deepseek_r1", "<｜Assistant｜>").inReasoning()).isTrue();
        assertThat(ReasoningParser.create("deepseek_r1", "<think>\n\n</think>\n\n").inReasoning()).isFalse();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ReasoningParser.create("o1", ""))
                .hasMessageContaining("deepseek_r1").hasMessageContaining("qwen3");
    }

    record Split(String reasoning, String content) {
    }

    static Split reason(boolean starts, String output, SplittableRandom r) {
        ReasoningParser p = new ReasoningParser(starts);
        StringBuilder reasoning = new StringBuilder(), content = new StringBuilder();
        ReasoningParser.Listener l = new ReasoningParser.Listener() {
            @Override
            public void reasoning(String text) {
                reasoning.append(text);
            }

            @Override
            public void content(String text) {
                content.append(text);
            }
        };
        int i = 0;
        while (i < output.length()) {
            int end = r == null ? output.length() : Math.min(output.length(), i + 1 + r.nextInt(4));
            p.accept(output.substring(i, end), l);
            i = end;
        }
        p.finish(l);
        return new Split(reasoning.toString(), content.toString());
    }

    @Test
    void reasoningSplitsThinkTags() {
        SplittableRandom r = new SplittableRandom(9);
        for (int trial = 0; trial < 20; trial++) {
            SplittableRandom rr = trial == 0 ? null : r;
            assertThat(reason(false, "<think>\nfirst, add.\n</think>\n\nThe sum is 3.", rr)).isEqualTo(new Split("\nfirst, add.\n", "The sum is 3."));
            assertThat(reason(true, "it is <b>bold</b>\n</think>\n\nYes.", rr)).isEqualTo(new Split("it is <b>bold</b>\n", "Yes."));
            assertThat(reason(false, "Plain answer with </think> inside.", rr)).isEqualTo(new Split("", "Plain answer with </think> inside."));
            assertThat(reason(false, "<thin", rr)).isEqualTo(new Split("", "<thin"));
            assertThat(reason(true, "cut off while thinking", rr)).isEqualTo(new Split("cut off while thinking", ""));
            assertThat(reason(true, "<think>opened anyway</think>Done.", rr)).isEqualTo(new Split("opened anyway", "Done."));
            assertThat(reason(true, "<thi", rr)).isEqualTo(new Split("<thi", ""));
        }
    }
}
