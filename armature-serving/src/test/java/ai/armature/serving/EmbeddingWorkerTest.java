package ai.armature.serving;

import ai.armature.engine.embedding.Embedder;
import ai.armature.protocol.RequestRejectedException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The embedding worker batches concurrent requests, returns each its own vectors, and refuses bad input at once. */
class EmbeddingWorkerTest {

    /** Embeds an input as (length, first token), normalized; records the batch sizes it was called with. */
    static final class Recording implements Embedder {
        final List<Integer> batches = new CopyOnWriteArrayList<>();

        @Override
        public int dimensions() {
            return 2;
        }

        @Override
        public int maxInputTokens() {
            return 8;
        }

        @Override
        public float[][] embed(List<int[]> inputs) {
            batches.add(inputs.size());
            float[][] out = new float[inputs.size()][];
            for (int i = 0; i < out.length; i++) out[i] = new float[] {inputs.get(i).length, inputs.get(i)[0]};
            return out;
        }
    }

    @Test
    void concurrentRequestsShareBatchesAndGetTheirOwnVectors() throws Exception {
        Recording e = new Recording();
        try (EmbeddingWorker w = new EmbeddingWorker(e, 100, 64, 100, "test")) {
            List<Thread> threads = new ArrayList<>();
            List<String> failures = new CopyOnWriteArrayList<>();
            for (int i = 1; i <= 20; i++) {
                int n = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        float[][] v = w.embed(List.of(new int[] {n % 7 + 1, 0}, new int[] {n}));
                        if (v.length != 2 || v[0][1] != n % 7 + 1 || v[1][1] != n) failures.add("request " + n);
                    } catch (Exception ex) {
                        failures.add(ex.toString());
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertThat(failures).isEmpty();
            assertThat(e.batches.stream().mapToInt(Integer::intValue).sum()).isEqualTo(40);
            assertThatThrownBy(() -> w.embed(List.of(new int[9]))).isInstanceOf(RequestRejectedException.class).hasMessageContaining("at most 8");
            assertThatThrownBy(() -> w.embed(List.of(new int[] {100}))).hasMessageContaining("vocabulary");
            assertThatThrownBy(() -> w.embed(List.of(new int[0]))).hasMessageContaining("no tokens");
        }
    }
}
