package ai.armature.cli;

import ai.armature.protocol.GenerationEngine;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.kv.KvCacheSizing;
import ai.armature.serving.mock.MockClock;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.runner.LlamaModelRunner;
import ai.armature.serving.runner.ModelRunner;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds the in-process workers of a command: N serving engines over one shared model (each with its own KV
 * cache and activations), or over the simulated runner, behind a least-loaded dispatcher when N > 1.
 */
final class Workers {

    private Workers() {
    }

    /**
     * @param mockProfile null for the real engine; else the simulated runner's profile (the model then only
     *                    supplies the tokenizer, and the profile's vocabulary is set to the tokenizer's)
     */
    static GenerationEngine start(LoadedModel model, String servedName, int count, ServingConfig perWorker, String mockProfile) {
        if (count < 1) throw new IllegalArgumentException("--workers must be at least 1");
        ServingConfig config = perWorker;
        long physical = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        if (config.kvCacheMemoryBytes() != null && config.kvCacheMemoryBytes() > physical / count) {
            throw new IllegalArgumentException("--kv-cache-memory asks for " + config.kvCacheMemoryBytes() * count
                    + " bytes, more than this machine's " + physical + " bytes of memory");
        }
        if (config.kvCacheMemoryBytes() == null && mockProfile == null) {
            // The default rule (a fraction of free memory), but never more than every sequence slot can use at full
            // context: a small model would otherwise pin gigabytes it never touches.
            long useful = (long) config.maxSeqs() * model.model().config().contextLength()
                    * ai.armature.engine.model.KvCache.bytesPerBlock(model.model().config(), 1, config.kvDtype());
            config = config.withKvCacheMemoryBytes(Math.max(1, Math.min(KvCacheSizing.defaultBudgetBytes() / count, useful)));
        }
        int[] eog = endOfGeneration(model);
        List<ServingEngine> engines = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ModelRunner runner = mockProfile != null
                        ? new MockModelRunner(mockFor(mockProfile, model), MockClock.realTime())
                        : new LlamaModelRunner(model.model(), servedName, eog, config.kvDtype());
                engines.add(new ServingEngine(runner, config));
            }
        } catch (RuntimeException e) {
            engines.forEach(ServingEngine::close);
            throw e;
        }
        return engines.size() == 1 ? engines.getFirst() : new LeastLoadedDispatcher(engines);
    }

    private static MockProfile mockFor(String spec, LoadedModel model) {
        StringBuilder s = new StringBuilder(spec).append(",vocab_size=").append(model.tokenizer().vocabSize());
        int[] eog = endOfGeneration(model);
        if (eog.length > 0) {
            s.append(",eos_token_ids=");
            for (int i = 0; i < eog.length; i++) s.append(i == 0 ? "" : ":").append(eog[i]);
        }
        return MockProfile.parse(s.toString());
    }

    /** Every token id the tokenizer says ends generation. */
    static int[] endOfGeneration(LoadedModel model) {
        var tok = model.tokenizer();
        int[] ids = new int[tok.vocabSize()];
        int n = 0;
        for (int i = 0; i < tok.vocabSize(); i++) if (tok.isEndOfGeneration(i)) ids[n++] = i;
        return java.util.Arrays.copyOf(ids, n);
    }
}
