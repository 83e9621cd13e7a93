package ai.armature.engine.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs index ranges on a persistent pool of worker threads sized to the cores (override with the system property
 * {@code armature.threads}). Decode calls ~150 small products per token, so the handoff must be cheap: a call
 * publishes the task by bumping a volatile generation, workers that spun recently pick it up without a system
 * call, and the others are unparked; chunks of {@code grain} indices are claimed from one atomic counter, so a
 * slow or descheduled worker never holds the rest back. A call allocates one small descriptor, nothing else.
 *
 * <p>One call uses the pool at a time: concurrent callers from different threads are serialized, and a call made
 * from inside a running task (nested) runs inline on the calling thread.
 */
public final class Parallel {

    /** A body over the half-open index range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private static final int THREADS = Math.max(1, Integer.getInteger("armature.threads",
            Runtime.getRuntime().availableProcessors()));
    /** How long an idle worker spins before parking; decode calls come back-to-back within microseconds. */
    private static final long SPIN_NANOS = 50_000;

    private static final Pool POOL = THREADS > 1 ? new Pool(THREADS - 1) : null;

    private Parallel() {
    }

    /** Number of threads a call may use (the caller plus the pool's workers). */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code task} over {@code [start, end)} in chunks of {@code grain} indices (the last may be shorter), each
     * chunk starting at {@code start + k * grain}, on all threads; returns when every chunk is done. An exception
     * thrown by the task is rethrown here after all chunks finished.
     */
    public static void forRange(int start, int end, int grain, RangeTask task) {
        if (grain < 1) {
            throw new IllegalArgumentException("grain must be positive: " + grain);
        }
        if (end <= start) {
            return;
        }
        if (POOL == null || end - start <= grain || POOL.mustRunInline()) {
            runInline(start, end, grain, task);
            return;
        }
        POOL.run(start, end, grain, task);
    }

    private static void runInline(int start, int end, int grain, RangeTask task) {
        for (int from = start; from < end; from += grain) {
            task.run(from, Math.min(end, from + grain));
            if (from > end - grain) {
                break; // avoid int overflow of from + grain near Integer.MAX_VALUE
            }
        }
    }

    /**
     * Each call is published as one immutable {@link Call} through a volatile field, with its own claim and done
     * counters: a worker that wakes late (the machine is shared and it may have been descheduled) only ever
     * touches the call it read, so it can neither run a chunk of a later call nor count towards one. The caller
     * waits for chunks, not workers: once every chunk of its call is done it returns, even if some worker never
     * woke up for it.
     */
    private static final class Pool {
        private final Worker[] workers;
        private final ReentrantLock callLock = new ReentrantLock();
        private volatile Call current;

        Pool(int workerCount) {
            workers = new Worker[workerCount];
            for (int i = 0; i < workerCount; i++) {
                workers[i] = new Worker(this, i);
                workers[i].start();
            }
        }

        boolean mustRunInline() {
            return Thread.currentThread() instanceof Worker || callLock.isHeldByCurrentThread();
        }

        int generation() {
            Call c = current;
            return c == null ? 0 : c.generation;
        }

        void run(int start, int end, int grain, RangeTask task) {
            callLock.lock();
            try {
                int n = (int) (((long) end - start + grain - 1) / grain);
                Call call = new Call(generation() + 1, task, start, end, grain, n);
                current = call;
                for (Worker w : workers) {
                    if (w.parked) {
                        LockSupport.unpark(w);
                    }
                }
                call.work();
                int spins = 0;
                while (call.done.get() < n) {
                    if (++spins < 20_000) {
                        Thread.onSpinWait();
                    } else {
                        Thread.yield(); // a worker is mid-chunk but descheduled (shared machine): let it run
                    }
                }
                Throwable t = call.failure;
                if (t != null) {
                    if (t instanceof RuntimeException re) throw re;
                    if (t instanceof Error e) throw e;
                    throw new IllegalStateException(t);
                }
            } finally {
                callLock.unlock();
            }
        }
    }

    /** One call's range and task, and the counters of its chunks: claimed, and done. */
    private static final class Call {
        final int generation;
        final RangeTask task;
        final int start;
        final int end;
        final int grain;
        final int chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Call(int generation, RangeTask task, int start, int end, int grain, int chunks) {
            this.generation = generation;
            this.task = task;
            this.start = start;
            this.end = end;
            this.grain = grain;
            this.chunks = chunks;
        }

        /** Claims and runs chunks until none are left. */
        void work() {
            while (true) {
                int k = next.getAndIncrement();
                if (k >= chunks) {
                    return;
                }
                if (failure == null) {
                    try {
                        long from = start + (long) k * grain;
                        task.run((int) from, (int) Math.min(end, from + grain));
                    } catch (Throwable ex) {
                        failure = ex; // the remaining chunks are skipped but still counted, so the caller returns
                    }
                }
                done.incrementAndGet();
            }
        }
    }

    private static final class Worker extends Thread {
        private final Pool pool;
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("armature-parallel-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            // Generation 0 is the pool's state before any call. Reading the generation here instead would race
            // with a first call made before this thread got scheduled, and the worker would sleep through it.
            int seen = 0;
            while (true) {
                int g;
                long spinStart = System.nanoTime();
                int spins = 0;
                while ((g = pool.generation()) == seen) {
                    if ((++spins & 63) != 0 || System.nanoTime() - spinStart < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (pool.generation() == seen) {
                            LockSupport.park(this);
                        }
                        parked = false;
                        spinStart = System.nanoTime();
                    }
                }
                seen = g;
                Call call = pool.current;
                if (call != null && call.generation == g) {
                    call.work();
                }
            }
        }
    }
}
