package ai.armature.bench;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The time a load run lives in: the system clock for real runs, or virtual time in tests (where a run's schedule,
 * send lags and durations become exact). A run's tasks execute on {@link #newExecutor()}, and every wait for a
 * point in time goes through {@link #parkUntil}, so a virtual clock knows when all tasks are waiting and may move on.
 */
public interface BenchClock {

    /** Now, in nanoseconds from an arbitrary origin. */
    long nanoTime();

    /** Returns once {@link #nanoTime()} reaches {@code deadlineNanos}, or earlier once {@code stop} says so. */
    void parkUntil(long deadlineNanos, BooleanSupplier stop);

    /** An executor for the tasks of one run (one thread per task). */
    ExecutorService newExecutor();

    /** {@link System#nanoTime()}, parking in short slices so that a stop is noticed within 20 ms. */
    BenchClock SYSTEM = new BenchClock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void parkUntil(long deadlineNanos, BooleanSupplier stop) {
            long d;
            while ((d = deadlineNanos - System.nanoTime()) > 0 && !stop.getAsBoolean()) {
                LockSupport.parkNanos(Math.min(d, 20_000_000L));
            }
        }

        @Override
        public ExecutorService newExecutor() {
            return Executors.newVirtualThreadPerTaskExecutor();
        }
    };
}
