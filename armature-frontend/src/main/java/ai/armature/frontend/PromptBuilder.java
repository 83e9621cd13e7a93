package ai.armature.frontend;

import ai.armature.engine.chat.ChatTemplate;
import ai.armature.engine.chat.ChatTemplateException;
import ai.armature.engine.tokenizer.Tokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the prompt of a request into token ids. Chat: messages are rendered with the model's {@link ChatTemplate}
 * and the result is tokenized with special tokens recognised (the template's own markers must become control
 * tokens). Message text must not become control tokens, though: when some message contains the text of a control
 * token (e.g. {@code <|im_end|>}), the prompt is tokenized piecewise instead, template text with special tokens and
 * message text without. Piecewise tokenization may merge differently at the seams, so it is used only when needed.
 * Completions: a prompt string is raw model input and is tokenized with special tokens recognised; token arrays
 * are used as given after a range check. A BOS token is added only when the tokenizer wants one and the prompt
 * does not already start with it.
 */
final class PromptBuilder {

    private static final char SENTINEL_OPEN = '\uE000';
    private static final char SENTINEL_CLOSE = '\uE001';

    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final ObjectMapper mapper;
    /** Texts of control tokens (rendered only with renderSpecial), to spot message text that would inject them. */
    private final List<String> controlTexts;

    PromptBuilder(Tokenizer tokenizer, ChatTemplate template, ObjectMapper mapper) {
        this.tokenizer = tokenizer;
        this.template = template;
        this.mapper = mapper;
        this.controlTexts = findControlTexts(tokenizer);
    }

    private static List<String> findControlTexts(Tokenizer tokenizer) {
        List<String> out = new ArrayList<>();
        int[] one = new int[1];
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            one[0] = id;
            String plain = tokenizer.decode(one, false);
            if (!plain.isEmpty()) continue;
            String special = tokenizer.decode(one, true);
            if (special.length() > 1) out.add(special);
        }
        return List.copyOf(out);
    }

    /** The token ids of a chat request's {@code messages} (and {@code tools}), ending with the assistant header. */
    int[] chat(JsonNode body) {
        return chat(body, ChatTools.parse(body), true);
    }

    /** As {@link #chat(JsonNode)}, with or without the assistant header at the end (/tokenize lets clients choose). */
    int[] chat(JsonNode body, boolean addGenerationPrompt) {
        return chat(body, ChatTools.parse(body), addGenerationPrompt);
    }

    /**
     * As above with the request's tools already read: {@code tools.templateTools()} go to the template (none when
     * the model may not call them), and {@code chat_template_kwargs} become extra template variables (e.g. Qwen3's
     * {@code enable_thinking}).
     */
    int[] chat(JsonNode body, ChatTools tools, boolean addGenerationPrompt) {
        JsonNode messagesNode = body.get("messages");
        if (!RequestParser.present(messagesNode)) throw ApiException.badRequest("messages", "messages is required");
        if (!messagesNode.isArray() || messagesNode.isEmpty()) {
            throw ApiException.badRequest("messages", "messages must be a non-empty array of message objects");
        }
        List<Map<String, Object>> messages = new ArrayList<>(messagesNode.size());
        for (int i = 0; i < messagesNode.size(); i++) messages.add(message(messagesNode.get(i), i));
        Map<String, Object> kwargs = templateKwargs(body.get("chat_template_kwargs"));
        boolean injects = false;
        for (Map<String, Object> m : messages) {
            if (m.get("content") instanceof String s && containsControlText(s)) {
                injects = true;
                break;
            }
        }
        List<Map<String, Object>> templateTools = tools.templateTools();
        return injects ? tokenizePiecewise(messages, templateTools, kwargs, addGenerationPrompt)
                : withBos(tokenizer.encode(render(messages, templateTools, kwargs, addGenerationPrompt), false, true));
    }

    private Map<String, Object> templateKwargs(JsonNode node) {
        if (!RequestParser.present(node)) return Map.of();
        if (!node.isObject()) throw ApiException.badRequest("chat_template_kwargs", "chat_template_kwargs must be an object");
        Map<String, Object> kwargs = toMap(node);
        for (String reserved : List.of("messages", "tools", "add_generation_prompt", "bos_token", "eos_token")) {
            if (kwargs.containsKey(reserved)) {
                throw ApiException.badRequest("chat_template_kwargs", "chat_template_kwargs cannot set '" + reserved + "'");
            }
        }
        return kwargs;
    }

    /** The prompts of a completions request: a string, an array of strings, a token array, or an array of token arrays. */
    List<int[]> completion(JsonNode body) {
        JsonNode prompt = body.get("prompt");
        if (!RequestParser.present(prompt)) throw ApiException.badRequest("prompt", "prompt is required");
        List<int[]> out = new ArrayList<>();
        if (prompt.isTextual()) {
            out.add(textPrompt(prompt.asText()));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            JsonNode first = prompt.get(0);
            if (first.isTextual()) {
                for (JsonNode p : prompt) {
                    if (!p.isTextual()) throw ApiException.badRequest("prompt", "prompt arrays must not mix strings and other values");
                    out.add(textPrompt(p.asText()));
                }
            } else if (first.isIntegralNumber()) {
                out.add(tokenArray(prompt));
            } else if (first.isArray()) {
                for (JsonNode p : prompt) {
                    if (!p.isArray()) throw ApiException.badRequest("prompt", "prompt arrays must not mix token arrays and other values");
                    out.add(tokenArray(p));
                }
            } else {
                throw ApiException.badRequest("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays");
            }
        } else {
            throw ApiException.badRequest("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays (non-empty)");
        }
        if (out.size() > RequestParser.MAX_N) {
            throw ApiException.badRequest("prompt", "at most " + RequestParser.MAX_N + " prompts per request, got " + out.size());
        }
        return out;
    }

    private int[] textPrompt(String text) {
        int[] ids = withBos(tokenizer.encode(text, false, true));
        if (ids.length == 0) throw ApiException.badRequest("prompt", "the prompt is empty; give at least one token");
        return ids;
    }

    private int[] tokenArray(JsonNode array) {
        if (array.isEmpty()) throw ApiException.badRequest("prompt", "a token-id prompt must not be empty");
        int vocab = tokenizer.vocabSize();
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = array.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                throw ApiException.badRequest("prompt", "token ids must be integers in [0, " + vocab + "), got " + t + " at position " + i);
            }
            ids[i] = t.asInt();
        }
        return ids;
    }

    /** The roles OpenAI's chat API defines; the model's template decides which of them it renders. */
    static final java.util.List<String> ROLES = java.util.List.of("system", "developer", "user", "assistant", "tool", "function");

    private Map<String, Object> message(JsonNode node, int index) {
        String param = "messages[" + index + "]";
        if (!node.isObject()) throw ApiException.badRequest(param, param + " must be an object");
        JsonNode role = node.get("role");
        if (role == null || !role.isTextual() || role.asText().isEmpty()) {
            throw ApiException.badRequest(param + ".role", param + ".role is required and must be a string");
        }
        if (!ROLES.contains(role.asText())) {
            throw ApiException.badRequest(param + ".role", "unknown role '" + role.asText() + "' in " + param
                    + "; use one of " + String.join(", ", ROLES));
        }
        Map<String, Object> m = toMap(node);
        JsonNode content = node.get("content");
        // Only an assistant turn may come without text (it may carry tool calls instead), as OpenAI has it.
        if (!role.asText().equals("assistant") && (content == null || content.isNull())) {
            throw ApiException.badRequest(param + ".content", param + ".content is required for role '" + role.asText()
                    + "'" + (content == null ? "" : ", not null") + ": give a string or an array of content parts");
        }
        if (content != null && content.isArray()) {
            // Templates expect a string; OpenAI's content-part form is flattened to its text parts.
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                JsonNode type = part.get("type");
                if (!part.isObject() || type == null || !"text".equals(type.asText()) || !part.path("text").isTextual()) {
                    throw ApiException.badRequest(param + ".content", "only text content parts are supported, got " + (type == null ? part : type));
                }
                if (!text.isEmpty()) text.append('\n');
                text.append(part.get("text").asText());
            }
            m.put("content", text.toString());
        } else if (content != null && !content.isNull() && !content.isTextual()) {
            throw ApiException.badRequest(param + ".content", param + ".content must be a string or an array of content parts");
        }
        ChatMessages.prepareForTemplate(m, param);
        return m;
    }

    private Map<String, Object> toMap(JsonNode node) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = mapper.convertValue(node, LinkedHashMap.class);
        return m;
    }

    private String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> kwargs,
                          boolean addGenerationPrompt) {
        try {
            return template.render(messages, tools, addGenerationPrompt, kwargs);
        } catch (ChatTemplateException e) {
            throw ApiException.badRequest("messages", "the chat template rejected the conversation: " + e.getMessage());
        }
    }

    private boolean containsControlText(String s) {
        for (String c : controlTexts) if (s.contains(c)) return true;
        return false;
    }

    /** Renders with each message's text replaced by a marker, then tokenizes template and message text separately. */
    private int[] tokenizePiecewise(List<Map<String, Object>> messages, List<Map<String, Object>> tools, Map<String, Object> kwargs,
                                    boolean addGenerationPrompt) {
        List<Map<String, Object>> masked = new ArrayList<>(messages.size());
        Map<Integer, String> originals = new HashMap<>();
        for (int i = 0; i < messages.size(); i++) {
            Map<String, Object> m = new LinkedHashMap<>(messages.get(i));
            if (m.get("content") instanceof String s) {
                originals.put(i, s);
                m.put("content", SENTINEL_OPEN + Integer.toString(i) + SENTINEL_CLOSE);
            }
            masked.add(m);
        }
        String rendered = render(masked, tools, kwargs, addGenerationPrompt);
        IntList ids = new IntList(rendered.length());
        int pos = 0;
        int found = 0;
        while (pos < rendered.length()) {
            int open = rendered.indexOf(SENTINEL_OPEN, pos);
            if (open < 0) {
                ids.addAll(tokenizer.encode(rendered.substring(pos), false, true));
                break;
            }
            int close = rendered.indexOf(SENTINEL_CLOSE, open);
            String original = close < 0 ? null : parseIndex(rendered, open + 1, close, originals);
            if (original == null) {
                throw ApiException.badRequest("messages", "a message contains the text of a special token and the chat template "
                        + "transforms message text, so it cannot be tokenized safely; remove the special-token text");
            }
            if (open > pos) ids.addAll(tokenizer.encode(rendered.substring(pos, open), false, true));
            ids.addAll(tokenizer.encode(original, false, false));
            found++;
            pos = close + 1;
        }
        if (found < originals.size()) {
            throw ApiException.badRequest("messages", "a message contains the text of a special token and the chat template "
                    + "does not render message text verbatim, so it cannot be tokenized safely; remove the special-token text");
        }
        return withBos(ids.toArray());
    }

    private static String parseIndex(String rendered, int from, int to, Map<Integer, String> originals) {
        try {
            return originals.get(Integer.parseInt(rendered.substring(from, to)));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private int[] withBos(int[] ids) {
        int bos = tokenizer.bosTokenId();
        if (!tokenizer.addBosByDefault() || bos < 0 || (ids.length > 0 && ids[0] == bos)) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bos;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** A growable int array, to join token pieces without boxing. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[Math.max(16, capacity / 2)];
        }

        void addAll(int[] more) {
            if (size + more.length > a.length) a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, size + more.length));
            System.arraycopy(more, 0, a, size, more.length);
            size += more.length;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, size);
        }
    }
}
