package ai.armature.engine.tokenizer;

import java.util.Map;

/**
 * The pre-tokenizer of each byte-level BPE family, by the name GGUF stores in {@code tokenizer.ggml.pre}, and
 * recognition of the same expressions in Hugging Face {@code tokenizer.json} files.
 */
final class PreTokenizers {

    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** The Hugging Face spellings of the Llama 3 and Qwen2 expressions (case-insensitive group). */
    static final String HF_LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String HF_QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Cased letters as DeepSeek LLM's tokenizer lists them, as code points so no editor can normalize them. */
    private static final String DEEPSEEK_LLM_LETTERS = "\\s?["
            + "\\x{0041}-\\x{005A}\\x{0061}-\\x{007A}\\x{00B5}\\x{00C0}-\\x{00D6}\\x{00D8}-\\x{00F6}"
            + "\\x{00F8}-\\x{01BA}\\x{01BC}-\\x{01BF}\\x{01C4}-\\x{0293}\\x{0295}-\\x{02AF}\\x{0370}-\\x{0373}"
            + "\\x{0376}-\\x{0377}\\x{037B}-\\x{037D}\\x{037F}\\x{0386}\\x{0388}-\\x{038A}\\x{038C}"
            + "\\x{038E}-\\x{03A1}\\x{03A3}-\\x{03F5}\\x{03F7}-\\x{0481}\\x{048A}-\\x{052F}\\x{0531}-\\x{0556}"
            + "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"
            + "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}"
            + "\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}"
            + "\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
            + "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}"
            + "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}"
            + "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}"
            + "\\x{2145}-\\x{2149}\\x{214E}\\x{2183}-\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}"
            + "\\x{2CEB}-\\x{2CEE}\\x{2CF2}-\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
            + "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}"
            + "\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
            + "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
            + "\\x{1E900}-\\x{1E943}"
            + "]+";

    private PreTokenizers() {
    }

    /** Families and the regexes llama.cpp applies in turn for them. */
    private static final Map<String, String[]> BY_NAME = Map.ofEntries(
            Map.entry("default", new String[]{GPT2}),
            Map.entry("gpt-2", new String[]{GPT2}),
            Map.entry("mpt", new String[]{GPT2}),
            Map.entry("olmo", new String[]{GPT2}),
            Map.entry("jais", new String[]{GPT2}),
            Map.entry("starcoder", new String[]{"\\p{N}", GPT2}),
            Map.entry("refact", new String[]{"\\p{N}", GPT2}),
            Map.entry("command-r", new String[]{"\\p{N}", GPT2}),
            Map.entry("smollm", new String[]{"\\p{N}", GPT2}),
            Map.entry("codeshell", new String[]{"\\p{N}", GPT2}),
            Map.entry("falcon", new String[]{"[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]"}),
            Map.entry("deepseek-llm", new String[]{"[\\r\\n]", DEEPSEEK_LLM_LETTERS,
                    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}+"}),
            Map.entry("deepseek-coder", new String[]{"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}"}));

    /**
     * The pre-tokenizer GGUF names; a missing name means GPT-2's expression (logged by the caller).
     *
     * @throws IllegalArgumentException for a name this build does not know
     */
    static PreTokenizer forGgufName(String name) {
        if (name == null) return new RegexPreTokenizer(GPT2);
        return switch (name) {
            case "llama-bpe", "llama3", "dbrx", "smaug-bpe" -> new Llama3PreTokenizer(3);
            case "qwen2", "qwen2.5", "qwen-2.5", "deepseek-r1-qwen" -> new Llama3PreTokenizer(1);
            default -> {
                String[] regexes = BY_NAME.get(name);
                if (regexes == null) {
                    throw new IllegalArgumentException("unknown pre-tokenizer '" + name + "' (tokenizer.ggml.pre); known: "
                            + String.join(", ", new java.util.TreeSet<>(BY_NAME.keySet())) + ", llama-bpe, qwen2");
                }
                yield new RegexPreTokenizer(regexes);
            }
        };
    }

    /** A pre-tokenizer for a Hugging Face Split regex: the hand-written one where it is known, else the regex. */
    static PreTokenizer forHfRegex(String regex) {
        if (regex.equals(HF_LLAMA3) || regex.equals(LLAMA3)) return new Llama3PreTokenizer(3);
        if (regex.equals(HF_QWEN2) || regex.equals(QWEN2)) return new Llama3PreTokenizer(1);
        return new RegexPreTokenizer(regex);
    }
}
