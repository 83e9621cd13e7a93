package ai.armature.runtime.migration;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.Migration;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.Usage;
import ai.armature.protocol.WorkerLostException;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Request migration, below the frontend's {@link GenerationEngine} seam: wraps the engine of one model (its router
 * or dispatcher) and, when a request's worker is lost mid-stream ({@link WorkerLostException}: killed, hung,
 * disconnected, or draining and handing it back), resubmits the prompt plus every token generated so far, with
 * the remaining max tokens and the same sampling parameters, as a {@link Migration} that excludes the workers
 * that failed it. Workers draw a seeded request's random numbers from (seed, position), so the continuation is
 * the one the first worker would have produced. The caller's stream goes on with no duplicate and no missing token;
 * usage counts the client's prompt and each generated token once. After {@code migrationLimit} migrations, or
 * when no other worker takes the request within {@code workerWait}, the stream ends with an ERROR output of kind
 * {@link GenerateOutput.ErrorKind#UNAVAILABLE} (a frontend answers 503 if nothing was sent yet).
 */
public final class MigratingEngine implements GenerationEngine {

    private static final Logger LOG = Logger.getLogger(MigratingEngine.class.getName());

    private final GenerationEngine target;
    private final int migrationLimit;
    private final Duration workerWait;
    private final Map<String, MigratingStream> streams = new ConcurrentHashMap<>();
    private final AtomicLong migrations = new AtomicLong();
    private final AtomicLong failedMigrations = new AtomicLong();

    public MigratingEngine(GenerationEngine target, int migrationLimit, Duration workerWait) {
        if (migrationLimit < 0) throw new IllegalArgumentException("--migration-limit must be >= 0, got " + migrationLimit);
        this.target = target;
        this.migrationLimit = migrationLimit;
        this.workerWait = workerWait;
    }

    /** Requests resumed on another worker so far. */
    public long migrations() {
        return migrations.get();
    }

    /** Requests that ended in an error because they could not be migrated (limit reached, no worker). */
    public long failedMigrations() {
        return failedMigrations.get();
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        MigratingStream s = new MigratingStream(request, target.submit(request));
        streams.put(request.requestId(), s);
        return s;
    }

    @Override
    public void cancel(String requestId) {
        MigratingStream s = streams.get(requestId);
        if (s != null) s.close();
    }

    @Override
    public EngineStats stats() {
        return target.stats();
    }

    @Override
    public boolean healthy() {
        return target.healthy();
    }

    @Override
    public int maxContextTokens() {
        return target.maxContextTokens();
    }

    @Override
    public void close() {
        target.close();
    }

    /** One client request across the workers that ran it. */
    private final class MigratingStream implements GenerationStream {
        private final GenerateRequest original;
        private final Set<String> failedWorkers = new HashSet<>();
        private int[] generated = new int[64];
        private int count;
        private int attempt;
        private int cachedPromptTokens = -1;
        private volatile GenerationStream current;
        private volatile boolean closed;
        private boolean finished;

        MigratingStream(GenerateRequest original, GenerationStream first) {
            this.original = original;
            this.current = first;
        }

        @Override
        public String requestId() {
            return original.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (finished) return null;
            while (true) {
                GenerateOutput out;
                try {
                    out = current.next();
                } catch (WorkerLostException e) {
                    GenerateOutput failure = migrate(e);
                    if (failure != null) return end(failure);
                    continue;
                }
                if (out == null) return end(error(GenerateOutput.ErrorKind.INTERNAL, "the worker's stream ended without a result"));
                for (int t : out.tokenIds()) append(t);
                if (cachedPromptTokens < 0 && out.usage() != null) cachedPromptTokens = out.usage().cachedPromptTokens();
                // The worker counts carried tokens as generated (and a stop token it did not send), so its count stands.
                Usage usage = out.usage() == null ? usage()
                        : new Usage(original.promptTokens().length, Math.max(0, cachedPromptTokens), out.usage().completionTokens());
                GenerateOutput fixed = new GenerateOutput(original.requestId(), out.tokenIds(), out.logprobs(), out.finishReason(),
                        usage, out.error(), out.promptLogprobs(), out.errorKind());
                return out.finished() ? end(fixed) : fixed;
            }
        }

        /** Resubmits the request elsewhere; returns null when it runs again, else the output that ends it. */
        private GenerateOutput migrate(WorkerLostException lost) throws InterruptedException {
            current.close();
            failedWorkers.add(lost.workerId());
            if (closed) return new GenerateOutput(original.requestId(), new int[0], null, FinishReason.CANCELLED, usage(), null);
            int remaining = original.stop().maxTokens() - count;
            if (remaining <= 0) {
                // Every token arrived; only the final marker was lost with the worker.
                return new GenerateOutput(original.requestId(), new int[0], null, FinishReason.LENGTH, usage(), null);
            }
            if (attempt >= migrationLimit) {
                failedMigrations.incrementAndGet();
                // No worker may take it any more: the cluster cannot serve it now, a retry may (503).
                return error(GenerateOutput.ErrorKind.UNAVAILABLE, lost.getMessage() + "; not migrated: the request already moved " + attempt
                        + " time(s), the limit (--migration-limit) is " + migrationLimit);
            }
            attempt++;
            int[] prompt = Arrays.copyOf(original.promptTokens(), original.promptTokens().length + count);
            System.arraycopy(generated, 0, prompt, original.promptTokens().length, count);
            StopConditions stop = new StopConditions(remaining, original.stop().stopTokenIds(), original.stop().ignoreEos(),
                    original.stop().includeStopToken(), Math.max(0, original.stop().minTokens() - count));
            GenerateRequest resumed = new GenerateRequest(original.requestId() + "~m" + attempt, prompt, original.sampling(), stop,
                    original.priority(), original.cacheSalt(), new Migration(count, attempt, failedWorkers), original.constraint());
            long deadline = System.nanoTime() + workerWait.toNanos();
            long backoffMillis = 50;
            while (true) {
                try {
                    current = target.submit(resumed);
                    migrations.incrementAndGet();
                    LOG.info(() -> "migrated request " + original.requestId() + " after " + count + " tokens (attempt " + attempt + "): "
                            + lost.getMessage());
                    return null;
                } catch (RequestRejectedException e) {
                    boolean retry = e.reason() == RequestRejectedException.Reason.SHUTTING_DOWN
                            || e.reason() == RequestRejectedException.Reason.QUEUE_FULL;
                    if (!retry || System.nanoTime() > deadline || closed) {
                        failedMigrations.incrementAndGet();
                        // No worker left or willing (503); a refusal of the request itself by the next worker,
                        // after the first accepted it, is the cluster's inconsistency, not the client's fault (500).
                        return error(retry ? GenerateOutput.ErrorKind.UNAVAILABLE : GenerateOutput.ErrorKind.INTERNAL,
                                lost.getMessage() + "; migration failed: " + e.getMessage());
                    }
                    Thread.sleep(backoffMillis);
                    backoffMillis = Math.min(1000, backoffMillis * 2);
                }
            }
        }

        private void append(int token) {
            if (count == generated.length) generated = Arrays.copyOf(generated, count * 2);
            generated[count++] = token;
        }

        private Usage usage() {
            return new Usage(original.promptTokens().length, Math.max(0, cachedPromptTokens), count);
        }

        private GenerateOutput error(GenerateOutput.ErrorKind kind, String message) {
            return GenerateOutput.failed(original.requestId(), usage(), kind, message);
        }

        private GenerateOutput end(GenerateOutput out) {
            finished = true;
            streams.remove(original.requestId(), this);
            return out;
        }

        @Override
        public void close() {
            closed = true;
            current.close();
            streams.remove(original.requestId(), this);
        }
    }
}
