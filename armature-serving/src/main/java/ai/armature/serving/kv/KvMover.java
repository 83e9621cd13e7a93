package ai.armature.serving.kv;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one thread of a worker that copies KV blocks between tiers, off the engine thread. It runs jobs strictly in
 * the order they were submitted (that order is what keeps copies of one slot or file consistent: a copy out of a
 * slot always runs before a later copy into it) and hands each finished job back through a queue the engine thread
 * drains between steps.
 *
 * @param <J> the job type
 */
final class KvMover<J> implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(KvMover.class.getName());

    /** A finished job: {@code failure} is null on success. */
    record Done<J>(J job, Exception failure) {
    }

    /** What a job does; an exception fails that job only. */
    interface Executor<J> {
        void run(J job) throws Exception;
    }

    private static final Object STOP = new Object();

    private final LinkedBlockingQueue<Object> jobs = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<Done<J>> done = new LinkedBlockingQueue<>();
    private final Executor<J> executor;
    private final Thread thread;
    private int inFlight; // engine thread: submitted, not yet drained

    KvMover(String name, Executor<J> executor) {
        this.executor = executor;
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::loop);
        thread.start();
    }

    /** Queues a job (engine thread). */
    void submit(J job) {
        inFlight++;
        jobs.add(job);
    }

    /** Jobs submitted whose completion the engine thread has not taken yet. */
    int inFlight() {
        return inFlight;
    }

    /** Hands every finished job to {@code sink} without waiting; returns how many. */
    int drain(Consumer<Done<J>> sink) {
        int n = 0;
        for (Done<J> d; (d = done.poll()) != null; n++) {
            inFlight--;
            sink.accept(d);
        }
        return n;
    }

    /** Waits (up to {@code timeoutMillis}) for one finished job, hands it to {@code sink}, then drains the rest. */
    int await(Consumer<Done<J>> sink, long timeoutMillis) throws InterruptedException {
        Done<J> d = done.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        if (d == null) return 0;
        inFlight--;
        sink.accept(d);
        return 1 + drain(sink);
    }

    @SuppressWarnings("unchecked")
    private void loop() {
        while (true) {
            Object next;
            try {
                next = jobs.take();
            } catch (InterruptedException e) {
                return;
            }
            if (next == STOP) return;
            J job = (J) next;
            Exception failure = null;
            try {
                executor.run(job);
            } catch (Exception e) {
                failure = e;
            } catch (Throwable t) {
                LOG.log(Level.SEVERE, "the KV mover failed a job", t);
                failure = new RuntimeException(t);
            }
            done.add(new Done<>(job, failure));
        }
    }

    /** Runs the jobs already queued, then stops the thread. */
    @Override
    public void close() {
        jobs.add(STOP);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
