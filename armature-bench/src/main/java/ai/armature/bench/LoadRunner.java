package ai.armature.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drives one run: takes conversations from a {@link Workload}, releases them according to a {@link LoadShape}
 * and sends their requests through a {@link RequestSender} (an {@link OpenAiClient}), one thread per active
 * conversation. The run ends when the workload is exhausted, {@code maxRequests} requests were started, or
 * {@code durationNanos} has passed (requests in flight then still finish, bounded by the request timeout). All
 * timing goes through a {@link BenchClock}: the system clock, or virtual time in tests.
 */
public final class LoadRunner {

    private final RequestSender client;
    private final Endpoint endpointOverride;
    private final ProgressListener progress;
    private final BenchClock clock;

    /** @param endpointOverride send every request here instead of the workload's endpoint (null: no override) */
    public LoadRunner(OpenAiClient client, Endpoint endpointOverride, ProgressListener progress) {
        this(client, endpointOverride, progress, BenchClock.SYSTEM);
    }

    /** A runner on {@code clock}; {@code sender} must time its requests on the same clock. */
    public LoadRunner(RequestSender sender, Endpoint endpointOverride, ProgressListener progress, BenchClock clock) {
        this.client = sender;
        this.endpointOverride = endpointOverride;
        this.progress = progress;
        this.clock = clock;
    }

    /**
     * Runs until one of the limits is reached.
     *
     * @param maxRequests   requests to start at most, -1 for no limit
     * @param durationNanos stop releasing requests after this long, -1 for no limit
     */
    public RunResult run(Workload workload, LoadShape shape, long maxRequests, long durationNanos) {
        Run run = new Run(workload, maxRequests, durationNanos);
        return run.execute(shape);
    }

    /** One unit for the virtual threads; a class rather than a lambda so that nothing links on the clock. */
    private record Task(Run owner, Conversation conversation, long due) implements Runnable {
        @Override
        public void run() {
            if (conversation != null) {
                owner.converse(conversation, due);
            } else if (due == -1) {
                owner.closedLoopClient();
            } else {
                owner.stopAfterDuration();
            }
        }
    }

    private final class Run {
        private final Workload workload;
        private final long maxRequests;
        private final long durationNanos;
        private final AtomicLong started = new AtomicLong();
        private final AtomicLong activeClients = new AtomicLong();
        private final ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
        private final boolean keepText;
        private long startNanos;
        private volatile boolean stopped;
        private Conversation prefetched;

        Run(Workload workload, long maxRequests, long durationNanos) {
            this.workload = workload;
            this.maxRequests = maxRequests;
            this.durationNanos = durationNanos;
            this.keepText = workload.usesReplies();
        }

        RunResult execute(LoadShape shape) {
            // Start the virtual-thread scheduler before the clock, or the first request pays for it.
            try {
                Thread.ofVirtual().start(() -> { }).join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // Timed shapes build their first conversation before the clock starts, so it leaves on time.
            if (!(shape instanceof LoadShape.Closed)) {
                prefetched = workload.next();
            }
            long epoch;
            try (ExecutorService pool = clock.newExecutor()) {
                // Everything that links call sites (pattern switch, lambdas) happens before the clock starts, so
                // the first request is not held back by one-time JVM work.
                Runnable dispatch = switch (shape) {
                    case LoadShape.Closed c -> () -> {
                        activeClients.set(c.concurrency());
                        for (int i = 0; i < c.concurrency(); i++) {
                            pool.submit(new Task(this, null, -1));
                        }
                        if (durationNanos >= 0) {
                            pool.submit(new Task(this, null, -2));
                        }
                    };
                    case LoadShape.Poisson p -> () -> dispatchPoisson(pool, p);
                    case LoadShape.Scheduled s -> () -> dispatchScheduled(pool);
                };
                epoch = System.currentTimeMillis();
                startNanos = clock.nanoTime();
                // The dispatcher is one of the run's tasks, so a virtual clock sees it waiting like the others; it must
                // be done submitting before the pool closes.
                try {
                    pool.submit(dispatch).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    stopped = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("the load dispatcher failed", e.getCause());
                }
            }
            List<RequestRecord> list = new ArrayList<>(records);
            list.sort(Comparator.comparingLong(RequestRecord::startOffsetNanos));
            long end = 0;
            for (RequestRecord r : list) {
                end = Math.max(end, r.startOffsetNanos() + r.e2eNanos());
            }
            return new RunResult(shape, epoch, end, List.copyOf(list));
        }

        private boolean expired() {
            if (durationNanos >= 0 && clock.nanoTime() - startNanos >= durationNanos) {
                stopped = true;
            }
            return stopped;
        }

        private void closedLoopClient() {
            try {
                while (!expired()) {
                    Conversation c = workload.next();
                    if (c == null) {
                        return;
                    }
                    converse(c, -1);
                }
            } finally {
                if (activeClients.decrementAndGet() == 0) {
                    stopped = true; // releases the duration timer
                }
            }
        }

        private Conversation nextTimed() {
            Conversation c = prefetched;
            prefetched = null;
            return c != null ? c : workload.next();
        }

        private void dispatchPoisson(ExecutorService pool, LoadShape.Poisson p) {
            SplittableRandom rnd = new SplittableRandom(p.seed());
            double t = 0;
            while (!expired()) {
                Conversation c = nextTimed();
                if (c == null) {
                    return;
                }
                long due = Math.round(t * 1e9);
                parkUntil(startNanos + due);
                if (expired()) {
                    return;
                }
                pool.submit(new Task(this, c, due));
                t += -Math.log(1.0 - rnd.nextDouble()) / p.rate();
            }
        }

        private void dispatchScheduled(ExecutorService pool) {
            long base = -1;
            while (!expired()) {
                Conversation c = nextTimed();
                if (c == null) {
                    return;
                }
                long offset = Math.max(0, c.scheduledOffsetNanos());
                if (base < 0) {
                    base = offset; // a warm-up may have consumed the trace's first entries
                }
                long due = offset - base;
                parkUntil(startNanos + due);
                if (expired()) {
                    return;
                }
                pool.submit(new Task(this, c, due));
            }
        }

        private void converse(Conversation c, long dueOffset) {
            String reply = null;
            long scheduled = dueOffset;
            boolean first = true;
            while (!expired()) {
                RequestSpec spec = c.next(reply);
                if (spec == null) {
                    return;
                }
                // The user thinks before each later turn (not after the last one, which would hold a client slot).
                long think = c.thinkTimeNanos();
                if (!first && think > 0) {
                    parkUntil(clock.nanoTime() + think);
                    if (expired()) {
                        return;
                    }
                }
                first = false;
                long index = started.getAndIncrement();
                if (maxRequests >= 0 && index >= maxRequests) {
                    stopped = true;
                    return;
                }
                Endpoint ep = endpointOverride != null ? endpointOverride : spec.preferredEndpoint();
                OpenAiClient.Result r = client.send(spec, ep, index, startNanos, scheduled, keepText);
                records.add(r.record());
                progress.requestDone(r.record());
                reply = r.record().ok() ? r.text() : null;
                scheduled = -1;
            }
        }

        private void stopAfterDuration() {
            parkUntil(startNanos + durationNanos);
            stopped = true;
        }

        private void parkUntil(long deadline) {
            clock.parkUntil(deadline, () -> stopped);
        }
    }
}
