package ai.armature.serving;

import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufReader;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.tensor.Parallel;
import ai.armature.serving.runner.LlamaModelRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two engine workers in one JVM, each with its own kernel pool: worker B computes whole steps while worker A's pool
 * is held inside a call (a latch keeps both of its threads busy), so B's kernels neither wait for A's nor run on
 * A's threads; and each worker's products go to its own pool.
 */
class WorkerPoolsTest {

    @TempDir
    Path dir;

    @Test
    void twoWorkersRunTheirKernelsOnTheirOwnPoolsConcurrently() throws Exception {
        Path path = dir.resolve("tiny.gguf");
        DemoModel.write(DemoModel.Preset.TINY.spec(), path);
        try (GgufFile file = GgufReader.open(path)) {
            LlamaModel model = LlamaModel.load(file);
            Parallel.Pool poolA = Parallel.newPool(2, "worker-a-kernels");
            Parallel.Pool poolB = Parallel.newPool(2, "worker-b-kernels");
            LlamaModelRunner a = new LlamaModelRunner(model, "m", new int[0], KvDtype.F16, poolA);
            LlamaModelRunner b = new LlamaModelRunner(model, "m", new int[0], KvDtype.F16, poolB);
            try (a; b) {
                ServingConfig cfg = new ServingConfig(16, 64, 4, 512L * a.kvBytesPerToken(), 100, KvDtype.F16);
                int vocab = model.config().vocabSize();
                SplittableRandom rnd = new SplittableRandom(3);

                CountDownLatch inside = new CountDownLatch(2);
                CountDownLatch release = new CountDownLatch(1);
                Thread holder = new Thread(() -> {
                    Parallel.bind(poolA);
                    Parallel.forRange(0, 2, 1, (from, to) -> {
                        inside.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                });
                holder.start();
                try {
                    assertThat(inside.await(60, TimeUnit.SECONDS)).as("both of pool A's threads are inside its call").isTrue();
                    long aCalls = poolA.handedOffCalls();
                    Harness onB = new Harness(b, cfg);
                    onB.add(greedy("b", randomPrompt(rnd, 40, vocab), 6));
                    onB.runToIdle(); // with one shared pool this would wait for the held call forever
                    assertThat(onB.tokens("b")).hasSize(6);
                    assertThat(poolB.handedOffCalls()).as("worker B's products ran on its pool").isPositive();
                    assertThat(poolA.handedOffCalls()).as("and none on A's").isEqualTo(aCalls);
                } finally {
                    release.countDown();
                    holder.join();
                }

                long bCalls = poolB.handedOffCalls();
                long aBefore = poolA.handedOffCalls();
                Harness onA = new Harness(a, cfg);
                onA.add(greedy("a", randomPrompt(rnd, 40, vocab), 6));
                onA.runToIdle();
                assertThat(poolA.handedOffCalls()).as("worker A's products ran on its pool").isGreaterThan(aBefore);
                assertThat(poolB.handedOffCalls()).isEqualTo(bCalls);
            }
        }
    }
}
