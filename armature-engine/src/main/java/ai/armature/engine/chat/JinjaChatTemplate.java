package ai.armature.engine.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import jinjava.javax.el.CompositeELResolver;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face style Jinja chat template rendered with Jinjava, configured like transformers' environment
 * ({@code trim_blocks}, {@code lstrip_blocks}, loop controls) and given the Python-isms real templates use:
 * {@code raise_exception(msg)} (becomes a {@link ChatTemplateException} with the template's message),
 * {@code strftime_now(fmt)}, Python-style {@code tojson}, Python {@code str} methods, and {@code [a:b]} /
 * {@code [::-1]} slices. Thread-safe.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    private static final Pattern SLICE = Pattern.compile("\\[\\s*(-?\\w*)\\s*:\\s*(-?\\w*)\\s*(?::\\s*(-?\\d+)\\s*)?]");

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final boolean fallback;
    private final Jinjava jinjava;
    private final String prepared;

    /**
     * @param source   the template text
     * @param bosToken text of the BOS token ({@code bos_token} in the template), or "" if none
     * @param eosToken text of the EOS token, or ""
     * @param fallback whether this is the built-in ChatML fallback rather than the model's own template
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken, boolean fallback) {
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.fallback = fallback;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver)
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                JinjaChatTemplate.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new ToJson());
        jinjava.getGlobalContext().registerFilter(new PySlice());
        jinjava.getGlobalContext().registerExpTest(new PyIterable());
        this.prepared = wrapNotOperands(wrapNamespaceArguments(rewriteSlices(applyExpressionWhitespaceControl(source))));
    }

    /** The template text as given. */
    public String source() {
        return source;
    }

    /** Whether this is the ChatML fallback used because the model has no template. */
    public boolean isFallback() {
        return fallback;
    }

    @Override
    public String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt) {
        return render(messages, tools, addGenerationPrompt, Map.of());
    }

    /**
     * Renders with extra template variables (OpenAI-style {@code chat_template_kwargs}, e.g. Qwen3's
     * {@code enable_thinking}); they cannot replace messages, tools, add_generation_prompt or the BOS/EOS texts.
     */
    @Override
    public String render(List<Map<String, Object>> messages, List<Map<String, Object>> tools, boolean addGenerationPrompt,
                         Map<String, Object> extraContext) {
        if (messages == null) throw new ChatTemplateException("messages must be given");
        Map<String, Object> ctx = new HashMap<>(extraContext == null ? Map.of() : extraContext);
        ctx.put("messages", messages);
        ctx.put("tools", tools); // None when absent, as transformers passes it
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RenderResult r;
        try {
            r = jinjava.renderForResult(prepared, ctx);
        } catch (TemplateRaised e) {
            throw new ChatTemplateException(e.getMessage());
        } catch (RuntimeException e) {
            TemplateRaised raised = findRaised(e);
            if (raised != null) throw new ChatTemplateException(raised.getMessage());
            throw new ChatTemplateException("chat template failed: " + e.getMessage(), e);
        }
        for (TemplateError err : r.getErrors()) {
            if (err.getException() != null) {
                TemplateRaised raised = findRaised(err.getException());
                if (raised != null) throw new ChatTemplateException(raised.getMessage());
            }
            String msg = err.getMessage() == null ? "" : err.getMessage();
            int at = msg.indexOf(TemplateRaised.MARK);
            if (at >= 0) throw new ChatTemplateException(msg.substring(at + TemplateRaised.MARK.length()).strip());
        }
        for (TemplateError err : r.getErrors()) {
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template failed at line " + err.getLineno() + ": " + err.getMessage());
            }
        }
        return r.getOutput();
    }

    private static TemplateRaised findRaised(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) if (c instanceof TemplateRaised tr) return tr;
        return null;
    }

    /** {@code raise_exception(msg)}: aborts rendering with the template's own message. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** {@code strftime_now(fmt)}: today's date with a (subset of) strftime format. */
    public static String strftimeNow(String format) {
        LocalDate d = LocalDate.now();
        String f = format.replace("%d", "dd").replace("%B", "MMMM").replace("%b", "MMM").replace("%Y", "yyyy")
                .replace("%m", "MM").replace("%y", "yy");
        return d.format(DateTimeFormatter.ofPattern(f, Locale.ENGLISH));
    }

    /**
     * Applies Jinja's {@code {{-} and {@code -}}} (strip all whitespace before / after an expression) in the text,
     * since Jinjava honours whitespace control only on statement tags.
     */
    static String applyExpressionWhitespaceControl(String template) {
        String s = Pattern.compile("\\s*\\{\\{-").matcher(template).replaceAll("{{");
        s = Pattern.compile("-}}\\s*").matcher(s).replaceAll("}}");
        // Jinjava's {%- misses whitespace that follows an expression ("{{ x }}\n{%- if"), and {#- is not honoured
        // at all: strip that whitespace here.
        return Pattern.compile("\\s+\\{([%#])-").matcher(s).replaceAll("{$1-");
    }

    private static final Pattern TAG = Pattern.compile("\\{%.*?%}|\\{\\{.*?}}", Pattern.DOTALL);
    private static final Pattern WORD = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * Puts the operand of each boolean {@code not} in parentheses. In Jinja {@code not} binds more loosely than
     * comparisons, tests and filters ({@code not a|length == 1} is {@code not (a|length == 1)}), in Jinjava's EL
     * more tightly; the operand runs to the next top-level {@code and}, {@code or}, {@code if} or {@code else},
     * closing bracket, comma or the end of the tag. {@code is not} and {@code not in} are left alone.
     */
    static String wrapNotOperands(String template) {
        Matcher tags = TAG.matcher(template);
        StringBuilder b = new StringBuilder();
        while (tags.find()) tags.appendReplacement(b, Matcher.quoteReplacement(wrapNots(tags.group())));
        tags.appendTail(b);
        return b.toString();
    }

    private static String wrapNots(String tag) {
        StringBuilder s = new StringBuilder(tag);
        char quote = 0;
        String previousWord = "";
        for (int i = 2; i < s.length() - 2; i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                continue;
            }
            if (!Character.isLetter(c) && c != '_') continue;
            Matcher w = WORD.matcher(s).region(i, s.length());
            if (!w.lookingAt()) continue;
            String word = w.group();
            int after = w.end();
            if (s.charAt(i - 1) == '.' || Character.isDigit(s.charAt(i - 1))) { // an attribute or part of a number
                i = after - 1;
                continue;
            }
            if (word.equals("not") && !previousWord.equals("is") && !nextWord(s, after).equals("in")) {
                int end = operandEnd(s, after);
                s.insert(end, ')');
                s.insert(after, " (");
            }
            previousWord = word;
            i = after - 1;
        }
        return s.toString();
    }

    private static String nextWord(CharSequence s, int from) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        Matcher w = WORD.matcher(s).region(i, s.length());
        return w.lookingAt() ? w.group() : "";
    }

    /** Where the operand of a {@code not} ending at {@code from} ends (an index into the tag text). */
    private static int operandEnd(CharSequence s, int from) {
        int depth = 0;
        char quote = 0;
        int limit = s.length() - 2; // before "%}" or "}}"
        if (limit > 0 && s.charAt(limit - 1) == '-') limit--;
        for (int i = from; i < limit; i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
                continue;
            }
            if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) return trimEnd(s, from, i);
                depth--;
            } else if (c == ',' && depth == 0) {
                return trimEnd(s, from, i);
            } else if (depth == 0 && Character.isLetter(c) && (i == 0 || !Character.isLetterOrDigit(s.charAt(i - 1)) && s.charAt(i - 1) != '_')) {
                Matcher w = WORD.matcher(s).region(i, s.length());
                if (w.lookingAt()) {
                    String word = w.group();
                    if (word.equals("and") || word.equals("or") || word.equals("if") || word.equals("else")) return trimEnd(s, from, i);
                    i = w.end() - 1;
                }
            }
        }
        return trimEnd(s, from, limit);
    }

    private static int trimEnd(CharSequence s, int from, int end) {
        while (end > from && Character.isWhitespace(s.charAt(end - 1))) end--;
        return end;
    }

    /** Rewrites Python slices, which Jinjava cannot parse, into the {@code py_slice} filter. */
    static String rewriteSlices(String template) {
        Matcher m = SLICE.matcher(template);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String start = m.group(1).isEmpty() ? "none" : m.group(1);
            String stop = m.group(2).isEmpty() ? "none" : m.group(2);
            String step = m.group(3) == null ? "none" : m.group(3);
            m.appendReplacement(b, Matcher.quoteReplacement("|py_slice(" + start + ", " + stop + ", " + step + ")"));
        }
        m.appendTail(b);
        return b.toString();
    }

    /**
     * Puts each {@code name=value} argument of {@code namespace(...)} in parentheses: Jinjava binds {@code =} tighter
     * than filters and arithmetic, so {@code namespace(i=messages|length - 1)} would otherwise misparse.
     */
    static String wrapNamespaceArguments(String template) {
        StringBuilder b = new StringBuilder();
        int from = 0;
        while (true) {
            int at = template.indexOf("namespace(", from);
            if (at < 0) break;
            int open = at + "namespace(".length();
            int close = matchingParen(template, open);
            if (close < 0) break;
            b.append(template, from, open);
            List<String> args = topLevelSplit(template.substring(open, close));
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i);
                Matcher m = Pattern.compile("^(\\s*\\w+\\s*)=(?!=)(.*)$", Pattern.DOTALL).matcher(a);
                b.append(i > 0 ? "," : "").append(m.matches() ? m.group(1) + "=(" + m.group(2) + ")" : a);
            }
            b.append(')');
            from = close + 1;
        }
        return b.append(template.substring(from)).toString();
    }

    private static int matchingParen(String s, int from) {
        int depth = 0;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) return c == ')' ? i : -1;
                depth--;
            }
        }
        return -1;
    }

    private static List<String> topLevelSplit(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0, start = 0;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') quote = c;
            else if (c == '(' || c == '[' || c == '{') depth++;
            else if (c == ')' || c == ']' || c == '}') depth--;
            else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    /** The exception raise_exception throws; the mark lets the message be recovered from a wrapped error text. */
    static final class TemplateRaised extends RuntimeException {
        static final String MARK = "[raise_exception]";

        TemplateRaised(String message) {
            super(message);
        }

        @Override
        public String toString() {
            return MARK + " " + getMessage();
        }
    }

    /** Python-style {@code tojson}, with an optional {@code indent}. */
    private static final class ToJson implements AdvancedFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            return PyJson.dumps(var, indent instanceof Number n ? n.intValue() : 0);
        }
    }

    /** Jinja's {@code is iterable}: true for strings too, as in Python (Llama 3.1's template relies on it for tool results). */
    private static final class PyIterable implements com.hubspot.jinjava.lib.exptest.ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof String || var instanceof Iterable<?> || var instanceof Map<?, ?> || var instanceof java.util.Iterator<?>
                    || var != null && var.getClass().isArray();
        }
    }

    /** Python list/string slicing with optional negative bounds and step. */
    static final class PySlice implements AdvancedFilter {
        @Override
        public String getName() {
            return "py_slice";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            List<Object> items = new ArrayList<>();
            boolean isString = var instanceof String;
            if (var instanceof String s) s.codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
            else if (var instanceof Iterable<?> it) it.forEach(items::add);
            else if (var != null) throw new ChatTemplateException("cannot slice " + var.getClass().getSimpleName());
            int n = items.size();
            int step = args.length > 2 && args[2] instanceof Number s ? s.intValue() : 1;
            if (step == 0) throw new ChatTemplateException("slice step cannot be zero");
            Integer a = args.length > 0 && args[0] instanceof Number x ? x.intValue() : null;
            Integer z = args.length > 1 && args[1] instanceof Number x ? x.intValue() : null;
            List<Object> out = new ArrayList<>();
            if (step > 0) {
                int from = a == null ? 0 : clamp(a < 0 ? a + n : a, 0, n);
                int to = z == null ? n : clamp(z < 0 ? z + n : z, 0, n);
                for (int i = from; i < to; i += step) out.add(items.get(i));
            } else {
                int from = a == null ? n - 1 : clamp(a < 0 ? a + n : a, -1, n - 1);
                int to = z == null ? -1 : clamp(z < 0 ? z + n : z, -1, n - 1);
                for (int i = from; i > to; i += step) out.add(items.get(i));
            }
            if (isString) {
                StringBuilder b = new StringBuilder();
                out.forEach(b::append);
                return b.toString();
            }
            return out;
        }

        private static int clamp(int v, int lo, int hi) {
            return Math.max(lo, Math.min(hi, v));
        }
    }
}
