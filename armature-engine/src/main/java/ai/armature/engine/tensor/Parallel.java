package ai.armature.engine.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs index ranges on a persistent pool of worker threads. Decode calls ~150 small products per token, so the
 * handoff must be cheap: a call publishes the task by bumping a volatile generation, workers that spun recently pick
 * it up without a system call, and the others are unparked; chunks of {@code grain} indices are claimed from one
 * atomic counter, so a slow or descheduled worker never holds the rest back. A call allocates one small descriptor,
 * nothing else.
 *
 * <p>There is one pool per serving worker: {@link #newPool} makes a {@link Pool} over its own threads, and
 * {@link #bind} makes it the pool of the calling thread, so every product that thread starts (all kernels call the
 * static {@link #forRange}) runs on it, and two workers' forward passes run at the same time on their own cores
 * instead of taking turns on one pool. A thread that bound nothing uses the default pool, sized to the cores
 * (override with the system property {@code armature.threads}). One call uses a pool at a time: concurrent callers
 * of the same pool are serialized, and a call made from inside a running task (nested) runs inline on the calling
 * thread.
 */
public final class Parallel {

    /** A body over the half-open index range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /** How long an idle worker spins before parking; decode calls come back-to-back within microseconds. */
    private static final long SPIN_NANOS = 50_000;

    private static final class DefaultPool {
        static final Pool POOL = new Pool(Math.max(1, Integer.getInteger("armature.threads",
                Runtime.getRuntime().availableProcessors())), "armature-parallel");
    }

    private static final ThreadLocal<Pool> BOUND = new ThreadLocal<>();

    private Parallel() {
    }

    /** The pool every thread uses unless it {@link #bind bound} another: all cores, or {@code armature.threads}. */
    public static Pool defaultPool() {
        return DefaultPool.POOL;
    }

    /**
     * A new pool of {@code threads} threads (the caller of each call plus {@code threads - 1} workers named
     * {@code name-N}); {@link Pool#close} stops them.
     */
    public static Pool newPool(int threads, String name) {
        if (threads < 1) {
            throw new IllegalArgumentException("a pool needs at least one thread, got " + threads);
        }
        return new Pool(threads, name);
    }

    /**
     * Makes {@code pool} the calling thread's pool (null: the default one) and returns the one it had, so a caller
     * can restore it in a finally block.
     */
    public static Pool bind(Pool pool) {
        Pool previous = BOUND.get();
        BOUND.set(pool);
        return previous;
    }

    /** The calling thread's pool. */
    public static Pool current() {
        Pool p = BOUND.get();
        return p != null ? p : DefaultPool.POOL;
    }

    /** Number of threads a call from this thread may use (the caller plus its pool's workers). */
    public static int threads() {
        return current().threads;
    }

    /**
     * Runs {@code task} over {@code [start, end)} in chunks of {@code grain} indices (the last may be shorter), each
     * chunk starting at {@code start + k * grain}, on all threads of the calling thread's pool; returns when every
     * chunk is done. An exception thrown by the task is rethrown here after all chunks finished.
     */
    public static void forRange(int start, int end, int grain, RangeTask task) {
        current().forRange(start, end, grain, task);
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
     * A pool of worker threads. Each call is published as one immutable {@link Call} through a volatile field, with
     * its own claim and done counters: a worker that wakes late (the machine is shared and it may have been
     * descheduled) only ever touches the call it read, so it can neither run a chunk of a later call nor count
     * towards one. The caller waits for chunks, not workers: once every chunk of its call is done it returns, even if
     * some worker never woke up for it.
     */
    public static final class Pool implements AutoCloseable {
        private final int threads;
        private final Worker[] workers;
        private final ReentrantLock callLock = new ReentrantLock();
        private volatile Call current;
        private volatile boolean closed;
        private volatile long calls;

        private Pool(int threads, String name) {
            this.threads = threads;
            workers = new Worker[threads - 1];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(this, name + "-" + i);
                workers[i].start();
            }
        }

        /** Threads a call may use: the caller plus the workers. */
        public int threads() {
            return threads;
        }

        /** Calls this pool has handed to its workers so far (calls run inline on the caller are not counted). */
        public long handedOffCalls() {
            return calls;
        }

        /** As {@link Parallel#forRange}, on this pool. */
        public void forRange(int start, int end, int grain, RangeTask task) {
            if (grain < 1) {
                throw new IllegalArgumentException("grain must be positive: " + grain);
            }
            if (end <= start) {
                return;
            }
            if (workers.length == 0 || end - start <= grain || mustRunInline() || closed) {
                runInline(start, end, grain, task);
                return;
            }
            run(start, end, grain, task);
        }

        /** Stops the workers (they finish the call in progress first); later calls run on the caller alone. */
        @Override
        public void close() {
            if (this == DefaultPool.POOL) {
                return; // shared by every thread that bound nothing
            }
            closed = true;
            for (Worker w : workers) {
                LockSupport.unpark(w);
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
                calls++; // under callLock
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

        Worker(Pool pool, String name) {
            super(name);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            // Generation 0 is the pool's state before any call. Reading the generation here instead would race
            // with a first call made before this thread got scheduled, and the worker would sleep through it.
            int seen = 0;
            while (!pool.closed) {
                int g;
                long spinStart = System.nanoTime();
                int spins = 0;
                while ((g = pool.generation()) == seen) {
                    if (pool.closed) {
                        return;
                    }
                    if ((++spins & 63) != 0 || System.nanoTime() - spinStart < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        parked = true;
                        if (pool.generation() == seen && !pool.closed) {
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
