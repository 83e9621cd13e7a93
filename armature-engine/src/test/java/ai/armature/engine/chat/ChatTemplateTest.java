package ai.armature.engine.chat;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The real Llama 3 and Qwen3 templates against hand-written expected prompts, plus the template machinery. */
class ChatTemplateTest {

    static Map<String, Object> msg(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    static Path hf(String model) {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            for (Path c : new Path[]{p.resolve("shared/fixtures/tokenizers/hf/" + model),
                    p.getParent() == null ? null : p.getParent().resolve("shared/fixtures/tokenizers/hf/" + model)}) {
                if (c != null && Files.isDirectory(c)) return c;
            }
        }
        Assumptions.abort("tokenizer fixtures not found: ../shared/fixtures/tokenizers/hf is absent");
        return null;
    }

    @Test
    void llama3MultiTurnWithSystem() throws Exception {
        JinjaChatTemplate t = ChatTemplates.load(hf("llama3"));
        assertThat(t.isFallback()).isFalse();
        String out = t.render(List.of(
                msg("role", "system", "content", "You are a helpful assistant."),
                msg("role", "user", "content", "What is 2+2?"),
                msg("role", "assistant", "content", " 4 "),
                msg("role", "user", "content", "And 3+3?")), null, true);
        assertThat(out).isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void qwen3MultiTurnWithSystem() throws Exception {
        JinjaChatTemplate t = ChatTemplates.load(hf("qwen3"));
        String out = t.render(List.of(
                msg("role", "system", "content", "You are helpful."),
                msg("role", "user", "content", "Hi"),
                msg("role", "assistant", "content", "Hello!"),
                msg("role", "user", "content", "How are you?")), null, true);
        assertThat(out).isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nHow are you?<|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void qwen3WithToolsAndToolCalls() throws Exception {
        JinjaChatTemplate t = ChatTemplates.load(hf("qwen3"));
        Map<String, Object> tool = msg("type", "function", "function", msg("name", "get_weather", "description", "Get the weather",
                "parameters", msg("type", "object", "properties", msg("city", msg("type", "string")), "required", List.of("city"))));
        String out = t.render(List.of(
                msg("role", "system", "content", "You are helpful."),
                msg("role", "user", "content", "Weather in Paris?"),
                msg("role", "assistant", "content", "", "tool_calls", List.of(
                        msg("type", "function", "function", msg("name", "get_weather", "arguments", msg("city", "Paris"))))),
                msg("role", "tool", "content", "18C")), List.of(tool), true);
        assertThat(out).isEqualTo("<|im_start|>system\nYou are helpful.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                + "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n"
                + "</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n"
                + "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n"
                + "<|im_start|>assistant\n");
    }

    @Test
    void qwen3ThinkingCanBeSwitchedOffThroughExtraContext() throws Exception {
        JinjaChatTemplate t = ChatTemplates.load(hf("qwen3"));
        String out = t.render(List.of(msg("role", "user", "content", "Hi")), null, true, Map.of("enable_thinking", false));
        assertThat(out).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    }

    @Test
    void qwen3SplitsReasoningOfTheLastTurn() throws Exception {
        JinjaChatTemplate t = ChatTemplates.load(hf("qwen3"));
        String out = t.render(List.of(
                msg("role", "user", "content", "Hi"),
                msg("role", "assistant", "content", "<think>\nplan\n</think>\n\nHello")), null, false);
        assertThat(out).isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\nHello<|im_end|>\n");
    }

    @Test
    void raiseExceptionBecomesChatTemplateExceptionWithTheTemplatesMessage() {
        JinjaChatTemplate t = new JinjaChatTemplate(
                "{% for m in messages %}{% if m['role'] not in ['user', 'assistant'] %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{{ m['content'] }}{% endfor %}",
                "", "", false);
        assertThat(t.render(List.of(msg("role", "user", "content", "ok")), null, false)).isEqualTo("ok");
        assertThatThrownBy(() -> t.render(List.of(msg("role", "system", "content", "x")), null, false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Only user and assistant roles are supported!");
    }

    @Test
    void fallbackIsChatMlAndSaysSo(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<|im_end|>\"}");
        JinjaChatTemplate t = ChatTemplates.load(dir);
        assertThat(t.isFallback()).isTrue();
        String out = t.render(List.of(msg("role", "system", "content", "S"),
                msg("role", "user", "content", List.of(msg("type", "text", "text", "a"), msg("type", "image_url", "image_url", "x"), msg("type", "text", "text", "b")))), null, true);
        assertThat(out).isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void toolsAreNoneWhenAbsentAndTojsonIndents() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% if tools is not none %}{{ tools[0] | tojson(indent=2) }}{% else %}none{% endif %}", "", "", false);
        assertThat(t.render(List.of(), null, false)).isEqualTo("none");
        assertThat(t.render(List.of(), List.of(msg("name", "f", "args", List.of(1, 2))), false))
                .isEqualTo("{\n  \"name\": \"f\",\n  \"args\": [\n    1,\n    2\n  ]\n}");
    }

    @Test
    void notBindsAsLooselyAsInJinja() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% if not messages|length == 1 %}many{% else %}one{% endif %}"
                + "|{% if x and not tools is none %}T{% else %}F{% endif %}|{% if not 'a' in 'abc' %}T{% else %}F{% endif %}"
                + "|{% if 'a' not in 'abc' %}T{% else %}F{% endif %}|{% if tools is not none %}some{% endif %}"
                + "|{% if not (1 == 2) and not 2 > 3 %}T{% else %}F{% endif %}", "", "", false);
        // Expected values as Python's Jinja2 renders the same template.
        assertThat(t.render(List.of(msg("role", "user")), null, false, Map.of("x", true))).isEqualTo("one|F|F|F||T");
        assertThat(t.render(List.of(msg("role", "user"), msg("role", "assistant")), List.of(), false, Map.of("x", true)))
                .isEqualTo("many|T|F|F|some|T");
    }

    @Test
    void stringsAreIterableAsInPython() {
        JinjaChatTemplate t = new JinjaChatTemplate("{% if 'x' is iterable %}a{% endif %}{% if 3 is iterable %}b{% endif %}"
                + "{% if messages is iterable %}c{% endif %}", "", "", false);
        assertThat(t.render(List.of(), null, false)).isEqualTo("ac");
    }

    @Test
    void blockWhitespaceControlAfterAnExpression() {
        JinjaChatTemplate t = new JinjaChatTemplate("{{- bos_token }}\n{%- if true %}\n  x\n{%- endif %}\n\n{#- note #}\n{{ 'y' }}", "<s>", "", false);
        assertThat(t.render(List.of(), null, false)).isEqualTo("<s>  xy"); // as Jinja2 renders it
    }

    @Test
    void pythonismsWork() {
        String src = "{{ messages[0]['content'].strip('\\n') }}|{{ messages[0]['content'].startswith('\\nab') }}|{{ 'a.b.c'.split('.')[-1] }}"
                + "|{{ (messages|map(attribute='role')|list)[::-1]|join(',') }}|{{ messages[1:]|length }}|{{ 'x'.upper() }}"
                + "|{% set ns = namespace(n=0) %}{% for m in messages %}{% if loop.index0 == 1 %}{% continue %}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}"
                + "|{{ messages[0] is mapping }}{{ messages[0]['content'] is string }}|{{ {'k': [1, 'v', none, true]}|tojson }}";
        JinjaChatTemplate t = new JinjaChatTemplate(src, "", "", false);
        String out = t.render(List.of(msg("role", "user", "content", "\nabc\n"), msg("role", "assistant", "content", "x"),
                msg("role", "tool", "content", "y")), null, false);
        assertThat(out).isEqualTo("abc|true|c|tool,assistant,user|2|X|2|truetrue|{\"k\": [1, \"v\", null, true]}");
    }
}
