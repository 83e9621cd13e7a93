package ai.armature.serving.worker;

import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.engine.grammar.TokenVocabulary;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tensor.Parallel;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.kv.KvCacheSizing;
import ai.armature.serving.kv.KvTierConfig;
import ai.armature.serving.mock.MockClock;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.runner.LlamaModelRunner;
import ai.armature.serving.runner.ModelRunner;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Builds serving workers, the one way every role does it ({@code serve}, {@code worker}, simulations): a
 * {@link ServingEngine} over the built-in engine's runner (several may share one model's weights, each with its own
 * KV cache and activations) or over the simulated runner, whose profile takes the served tokenizer's vocabulary and
 * end-of-generation ids. The KV budget follows {@link ai.armature.serving.kv.KvCacheSizing#budgetBytes}, with the
 * default divided among the workers built together; the lower KV tiers of {@code config.kvTiers()} are sizes over
 * all of them, divided equally, and each worker gets its own disk directory ({@link KvTierConfig#forWorker}).
 */
public final class WorkerFactory {

    private WorkerFactory() {
    }

    /**
     * What to build: the model's tokenizer (it owns the end-of-generation ids), its weights (null with the simulated
     * runner, which needs none), the name KV block hashes are salted with, the per-worker settings, and the
     * simulated runner's profile or null.
     */
    public record WorkerSpec(ModelTokenizer tokenizer, LlamaModel weights, String servedName, ServingConfig config,
                             MockProfile mockProfile) {
        public WorkerSpec {
            if ((weights == null) == (mockProfile == null)) {
                throw new IllegalArgumentException("a worker runs either the model's weights or a mock profile");
            }
        }

        /** A worker of the built-in engine over an opened model. */
        public static WorkerSpec engine(LoadedModel model, String servedName, ServingConfig config) {
            return new WorkerSpec(model.modelTokenizer(), model.model(), servedName, config, null);
        }

        /** A simulated worker serving {@code tokenizer}'s vocabulary. */
        public static WorkerSpec mock(ModelTokenizer tokenizer, String servedName, ServingConfig config, MockProfile profile) {
            return new WorkerSpec(tokenizer, null, servedName, config, profile);
        }

        WorkerSpec sharedBy(int count) {
            return new WorkerSpec(tokenizer, weights, servedName, config.withSharedBy(count), mockProfile);
        }

        /** Worker {@code index} of {@code count}: its share of the lower KV tiers and its own disk directory. */
        WorkerSpec worker(int index, int count) {
            return new WorkerSpec(tokenizer, weights, servedName, config.withKvTiers(config.kvTiers().forWorker(index, count)), mockProfile);
        }
    }

    /** One worker publishing its KV events to {@code events}; its kernels use the default pool (all cores). */
    public static ServingEngine start(WorkerSpec spec, KvEventPublisher events) {
        checkHostMemory(spec.config().kvTiers());
        return start(spec.worker(0, 1), events, grammars(spec), 0, 0);
    }

    /** @param threads the worker's own kernel pool size, or 0 for the default pool */
    private static ServingEngine start(WorkerSpec spec, KvEventPublisher events, GrammarCompiler grammars, int threads, int index) {
        return new ServingEngine(runner(spec, threads, index), spec.config(), events, grammars);
    }

    /** The default kernel threads per worker when {@code workers} share this machine: the cores divided among them. */
    public static int defaultThreadsPerWorker(int workers) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, workers));
    }

    /** The compiler of output constraints (structured output) for the spec's vocabulary; workers of one spec share it. */
    private static GrammarCompiler grammars(WorkerSpec spec) {
        int logits = spec.weights() != null ? spec.weights().config().vocabSize() : spec.tokenizer().tokenizer().vocabSize();
        return new GrammarCompiler(TokenVocabulary.of(spec.tokenizer().tokenizer(), logits));
    }

    /** The host-memory tier is allocated up front: refuse one larger than the machine (sizes over all workers). */
    private static void checkHostMemory(KvTierConfig tiers) {
        long physical = KvCacheSizing.physicalMemoryBytes();
        if (tiers.hostBytes() > physical) {
            throw new IllegalArgumentException("--kv-host-memory asks for " + tiers.hostBytes() + " bytes, more than this machine's "
                    + physical + " bytes of memory");
        }
    }

    /**
     * {@code count} workers sharing the machine's default KV budget, each with its own kernel pool of
     * {@link #defaultThreadsPerWorker} threads; {@code events} gives each its publisher.
     */
    public static List<ServingEngine> startAll(WorkerSpec spec, int count, IntFunction<KvEventPublisher> events) {
        return startAll(spec, count, defaultThreadsPerWorker(count), events);
    }

    /**
     * As {@link #startAll(WorkerSpec, int, IntFunction)} with {@code threadsPerWorker} kernel threads per worker: each
     * built-in engine worker runs its products on its own pool, so the workers compute at the same time on their own
     * cores (one worker alone uses the default pool when {@code threadsPerWorker} is all the cores).
     */
    public static List<ServingEngine> startAll(WorkerSpec spec, int count, int threadsPerWorker, IntFunction<KvEventPublisher> events) {
        if (count < 1) throw new IllegalArgumentException("--workers must be at least 1, got " + count);
        if (threadsPerWorker < 1) throw new IllegalArgumentException("--threads-per-worker must be at least 1, got " + threadsPerWorker);
        WorkerSpec shared = spec.sharedBy(count);
        List<ServingEngine> engines = new ArrayList<>();
        GrammarCompiler grammars = grammars(spec);
        try {
            checkHostMemory(spec.config().kvTiers());
            boolean ownPools = count > 1 || threadsPerWorker != Runtime.getRuntime().availableProcessors();
            for (int i = 0; i < count; i++) {
                engines.add(start(shared.worker(i, count), events.apply(i), grammars, ownPools ? threadsPerWorker : 0, i));
            }
        } catch (RuntimeException e) {
            engines.forEach(ServingEngine::close);
            throw e;
        }
        return engines;
    }

    /** The simulated runner's profile for a tokenizer: the tokenizer's vocabulary and end-of-generation ids. */
    public static MockProfile mockProfileFor(MockProfile profile, ModelTokenizer tokenizer) {
        return profile.withVocabulary(tokenizer.tokenizer().vocabSize(), ModelTokenizer.endOfGenerationIds(tokenizer.tokenizer()));
    }

    /** The runner a worker of {@code spec} steps (the simulated one in real time); the caller owns and closes it. */
    public static ModelRunner runner(WorkerSpec spec) {
        return runner(spec, 0, 0);
    }

    /** @param threads the runner's own kernel pool size (it owns and closes the pool), or 0 for the default pool */
    private static ModelRunner runner(WorkerSpec spec, int threads, int index) {
        if (spec.mockProfile() != null) {
            return new MockModelRunner(mockProfileFor(spec.mockProfile(), spec.tokenizer()), MockClock.realTime());
        }
        Parallel.Pool pool = threads > 0 ? Parallel.newPool(threads, "armature-worker-" + index + "-kernels") : null;
        return new LlamaModelRunner(spec.weights(), spec.servedName(), ModelTokenizer.endOfGenerationIds(spec.tokenizer().tokenizer()),
                spec.config().kvDtype(), pool);
    }
}
