package ai.armature.upstream;

import java.util.Locale;

/**
 * The kinds of external engine Armature fronts, and what each one's HTTP API offers the adapter. Every kind gets
 * the prompt as token ids; they differ in how generated token ids come back and which sampling knobs they take:
 * <ul>
 *   <li>{@link #VLLM}: {@code POST /v1/completions} with {@code return_token_ids} (vLLM PR #22587, August 2025:
 *       each streamed choice carries {@code token_ids}); logprobs with {@code return_tokens_as_token_ids}
 *       ({@code "token_id:N"} strings); vLLM's extra sampling fields ({@code top_k}, {@code min_p},
 *       {@code repetition_penalty}, {@code stop_token_ids}, {@code ignore_eos}); KV events over ZMQ.</li>
 *   <li>{@link #SGLANG}: the same completions request; {@code return_token_ids} on streamed completions is SGLang
 *       PR #30917 (July 2026); KV events over ZMQ from its radix cache.</li>
 *   <li>{@link #LLAMA_CPP}: llama.cpp's {@code llama-server}: its own {@code POST /completion} with
 *       {@code return_tokens} (llama.cpp PR #10853, December 2024: streamed chunks carry {@code tokens}) and
 *       {@code cache_prompt}; servers without that field (e.g. ik_llama.cpp) are detected at start and asked on
 *       {@code /v1/completions} with {@code logprobs: 1}, whose entries carry token ids. No KV events.</li>
 *   <li>{@link #OPENAI}: any OpenAI-compatible server: plain completions; only the text comes back, so the
 *       adapter re-tokenizes it with the served tokenizer (see {@link TokenIdSource#TEXT}).</li>
 * </ul>
 */
public enum UpstreamKind {
    VLLM("vllm", 16, true),
    SGLANG("sglang", 1, true),
    LLAMA_CPP("llama.cpp", 16, false),
    OPENAI("openai", 16, false);

    private final String cliName;
    private final int defaultBlockSize;
    private final boolean kvEvents;

    UpstreamKind(String cliName, int defaultBlockSize, boolean kvEvents) {
        this.cliName = cliName;
        this.defaultBlockSize = defaultBlockSize;
        this.kvEvents = kvEvents;
    }

    /** The name {@code --upstream-kind} takes. */
    public String cliName() {
        return cliName;
    }

    /**
     * The block size the router indexes this kind's cache in by default: vLLM's KV block (16 tokens), SGLang's radix
     * cache page (1 token unless it runs with {@code --page-size}); llama-server and plain OpenAI servers publish no
     * blocks, so 16 only sets the granularity of the router's approximate bookkeeping.
     */
    public int defaultBlockSize() {
        return defaultBlockSize;
    }

    /** Whether this kind of engine can publish KV events (vLLM's and SGLang's ZMQ publisher). */
    public boolean publishesKvEvents() {
        return kvEvents;
    }

    /** Whether requests may carry the engine's extra sampling fields (top_k, min_p, repetition_penalty, stop ids, ignore_eos). */
    boolean extendedSampling() {
        return this != OPENAI;
    }

    public static UpstreamKind parse(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (UpstreamKind k : values()) if (k.cliName.equals(n)) return k;
        if (n.equals("llama-server") || n.equals("llamacpp")) return LLAMA_CPP;
        throw new IllegalArgumentException("--upstream-kind must be one of vllm, sglang, llama.cpp, openai; got '" + name + "'");
    }
}
