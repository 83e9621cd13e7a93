package ai.armature.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void everyIndexRunsExactlyOnceInGrainAlignedChunks() {
        for (int[] c : new int[][] {{0, 1, 1}, {0, 1000, 7}, {5, 1003, 64}, {3, 4, 100}, {0, 10_000, 1}}) {
            int start = c[0], end = c[1], grain = c[2];
            AtomicIntegerArray hits = new AtomicIntegerArray(end);
            Parallel.forRange(start, end, grain, (from, to) -> {
                assertThat((from - start) % grain).isZero();
                assertThat(to - from).isBetween(1, grain);
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            for (int i = 0; i < end; i++) {
                assertThat(hits.get(i)).as("index %d of [%d,%d) grain %d", i, start, end, grain).isEqualTo(i < start ? 0 : 1);
            }
        }
    }

    @Test
    void emptyRangeRunsNothingAndBadGrainIsRejected() {
        Parallel.forRange(5, 5, 1, (from, to) -> {
            throw new AssertionError("ran");
        });
        assertThatThrownBy(() -> Parallel.forRange(0, 5, 0, (from, to) -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("grain");
    }

    @Test
    void taskExceptionReachesTheCallerAndThePoolStaysUsable() {
        assertThatThrownBy(() -> Parallel.forRange(0, 100, 1, (from, to) -> {
            if (from == 57) {
                throw new IllegalStateException("boom at 57");
            }
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom at 57");
        AtomicIntegerArray hits = new AtomicIntegerArray(100);
        Parallel.forRange(0, 100, 1, (from, to) -> hits.incrementAndGet(from));
        for (int i = 0; i < 100; i++) {
            assertThat(hits.get(i)).isEqualTo(1);
        }
    }

    @Test
    void nestedCallsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
        Parallel.forRange(0, 64, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = i;
                Parallel.forRange(0, 64, 4, (f, t) -> {
                    for (int j = f; j < t; j++) {
                        hits.incrementAndGet(row * 64 + j);
                    }
                });
            }
        });
        for (int i = 0; i < 64 * 64; i++) {
            assertThat(hits.get(i)).isEqualTo(1);
        }
    }

    @Test
    void concurrentCallersFromSeveralThreadsAreAllServed() throws Exception {
        int callers = 4;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Boolean>> results = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                results.add(pool.submit(() -> {
                    go.await();
                    for (int round = 0; round < 200; round++) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(333);
                        Parallel.forRange(0, 333, 10, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < 333; i++) {
                            if (hits.get(i) != 1) {
                                return false;
                            }
                        }
                    }
                    return true;
                }));
            }
            go.countDown();
            for (Future<Boolean> f : results) {
                assertThat(f.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void threadsIsPositive() {
        assertThat(Parallel.threads()).isPositive();
    }
}
