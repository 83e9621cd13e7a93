package ai.armature.engine.grammar;

import ai.armature.protocol.OutputConstraint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Compiles {@link OutputConstraint}s for one vocabulary and caches the results by constraint (least recently used
 * beyond {@code capacity}), so a schema sent with every request compiles once; concurrent requests for the same
 * constraint wait for one compilation. A failed compilation is not cached. Without a vocabulary it compiles only
 * the vocabulary-independent grammar, which is how a frontend checks a constraint before sending it on.
 * Thread-safe.
 */
public final class GrammarCompiler {

    public static final int DEFAULT_CAPACITY = 64;

    private final TokenVocabulary vocab;
    private final int capacity;
    private final Map<OutputConstraint, CompletableFuture<CompiledGrammar>> compiled;
    private final Map<OutputConstraint, CompletableFuture<Grammar>> grammars;

    public GrammarCompiler(TokenVocabulary vocab, int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1");
        this.vocab = vocab;
        this.capacity = capacity;
        this.compiled = lru(capacity);
        this.grammars = lru(capacity);
    }

    public GrammarCompiler(TokenVocabulary vocab) {
        this(vocab, DEFAULT_CAPACITY);
    }

    private static <V> Map<OutputConstraint, V> lru(int capacity) {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<OutputConstraint, V> eldest) {
                return size() > capacity;
            }
        };
    }

    public TokenVocabulary vocabulary() {
        return vocab;
    }

    /**
     * The vocabulary-independent grammar of {@code c} (cached).
     *
     * @throws GrammarException when the constraint cannot be compiled (the message names why)
     */
    public Grammar grammar(OutputConstraint c) {
        return cached(grammars, c, () -> switch (c.kind()) {
            case JSON_OBJECT -> JsonSchemaCompiler.anyObject(c.reasoning());
            case JSON_SCHEMA -> JsonSchemaCompiler.compile(c.spec(), c.reasoning());
        });
    }

    /**
     * {@code c} compiled against this compiler's vocabulary with every state's mask computed (cached).
     *
     * @throws GrammarException when the constraint cannot be compiled
     * @throws IllegalStateException when this compiler has no vocabulary
     */
    public CompiledGrammar compile(OutputConstraint c) {
        if (vocab == null) throw new IllegalStateException("this grammar compiler has no vocabulary");
        return cached(compiled, c, () -> {
            CompiledGrammar g = new CompiledGrammar(grammar(c), vocab);
            g.precompute();
            return g;
        });
    }

    /** Constraints compiled and cached now. */
    public synchronized int cachedCount() {
        return compiled.size();
    }

    private <V> V cached(Map<OutputConstraint, CompletableFuture<V>> map, OutputConstraint c, java.util.function.Supplier<V> make) {
        CompletableFuture<V> f;
        boolean mine = false;
        synchronized (this) {
            f = map.get(c);
            if (f == null) {
                f = new CompletableFuture<>();
                map.put(c, f);
                mine = true;
            }
        }
        if (mine) {
            try {
                f.complete(make.get());
            } catch (RuntimeException e) {
                synchronized (this) {
                    map.remove(c, f);
                }
                f.completeExceptionally(e);
                throw e;
            }
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GrammarException("interrupted while the constraint was being compiled");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }
}
