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

    /**
     * Two pools, each bound by its own caller thread as a worker's forward pass binds its pool: all four chunks (two
     * per pool, one on each caller and one on each pool's worker) must be running at once to pass the latch. With a
     * single shared pool the second caller would wait for the first call to end, which never happens before the latch
     * opens, so the await would time out.
     */
    @Test
    void callsOnTwoPoolsRunAtTheSameTime() throws Exception {
        try (Parallel.Pool a = Parallel.newPool(2, "test-a"); Parallel.Pool b = Parallel.newPool(2, "test-b")) {
            CountDownLatch allInside = new CountDownLatch(4);
            java.util.Set<String> threadNames = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.concurrent.atomic.AtomicBoolean met = new java.util.concurrent.atomic.AtomicBoolean(true);
            Parallel.RangeTask meet = (from, to) -> {
                threadNames.add(Thread.currentThread().getName());
                allInside.countDown();
                try {
                    if (!allInside.await(60, java.util.concurrent.TimeUnit.SECONDS)) met.set(false);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    met.set(false);
                }
            };
            Thread ta = new Thread(() -> {
                Parallel.bind(a);
                Parallel.forRange(0, 2, 1, meet);
            }, "caller-a");
            Thread tb = new Thread(() -> {
                Parallel.bind(b);
                Parallel.forRange(0, 2, 1, meet);
            }, "caller-b");
            ta.start();
            tb.start();
            ta.join();
            tb.join();
            assertThat(met.get()).as("all four chunks were inside the task at the same time").isTrue();
            assertThat(threadNames).containsExactlyInAnyOrder("caller-a", "caller-b", "test-a-0", "test-b-0");
            assertThat(a.handedOffCalls()).isEqualTo(1);
            assertThat(b.handedOffCalls()).isEqualTo(1);
        }
    }

    @Test
    void bindSelectsTheCallingThreadsPoolAndRestores() {
        try (Parallel.Pool p = Parallel.newPool(3, "test-bind")) {
            Parallel.Pool previous = Parallel.bind(p);
            try {
                assertThat(Parallel.current()).isSameAs(p);
                assertThat(Parallel.threads()).isEqualTo(3);
                AtomicIntegerArray hits = new AtomicIntegerArray(100);
                Parallel.forRange(0, 100, 1, (from, to) -> hits.incrementAndGet(from));
                for (int i = 0; i < 100; i++) assertThat(hits.get(i)).isEqualTo(1);
                assertThat(p.handedOffCalls()).isEqualTo(1);
            } finally {
                Parallel.bind(previous);
            }
            assertThat(Parallel.current()).isSameAs(Parallel.defaultPool());
        }
        assertThatThrownBy(() -> Parallel.newPool(0, "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aClosedPoolStillCompletesCallsOnTheCaller() {
        Parallel.Pool p = Parallel.newPool(2, "test-closed");
        p.close();
        AtomicIntegerArray hits = new AtomicIntegerArray(50);
        p.forRange(0, 50, 3, (from, to) -> {
            for (int i = from; i < to; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < 50; i++) assertThat(hits.get(i)).isEqualTo(1);
    }
}
