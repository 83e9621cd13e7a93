package ai.armature.serving;

import ai.armature.engine.embedding.Embedder;
import ai.armature.protocol.EmbeddingEngine;
import ai.armature.protocol.RequestRejectedException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One embedding worker: an {@link Embedder} on its own thread that batches whatever requests are waiting (up to
 * {@code maxBatchTokens} tokens per forward pass, so every weight matrix is read once for all of them). Inputs are
 * checked on the caller's thread; at most {@code maxQueued} requests wait, beyond that they are refused with
 * QUEUE_FULL. The worker owns the embedder and closes it when it implements AutoCloseable.
 */
public final class EmbeddingWorker implements EmbeddingEngine {

    private static final Logger LOG = Logger.getLogger(EmbeddingWorker.class.getName());

    private record Job(List<int[]> inputs, int tokens, CompletableFuture<float[][]> result) {
    }

    private static final Job STOP = new Job(List.of(), 0, null);

    private final Embedder embedder;
    private final int vocabSize;
    private final int maxBatchTokens;
    private final int maxQueued;
    private final LinkedBlockingQueue<Job> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final Thread thread;
    private volatile boolean closed;

    public EmbeddingWorker(Embedder embedder, int vocabSize, int maxBatchTokens, int maxQueued, String name) {
        this.embedder = embedder;
        this.vocabSize = vocabSize;
        this.maxBatchTokens = Math.max(maxBatchTokens, embedder.maxInputTokens());
        this.maxQueued = maxQueued;
        this.thread = Thread.ofPlatform().name("armature-embed-" + name).daemon(true).start(this::run);
    }

    @Override
    public float[][] embed(List<int[]> inputs) throws InterruptedException {
        if (closed) throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "the embedding worker is shutting down");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            int[] t = inputs.get(i);
            if (t.length == 0) throw new RequestRejectedException(RequestRejectedException.Reason.INVALID, "input " + i + " has no tokens");
            if (t.length > embedder.maxInputTokens()) {
                throw new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG, "input " + i + " has " + t.length
                        + " tokens but the model takes at most " + embedder.maxInputTokens() + ": shorten it");
            }
            for (int id : t) {
                if (id < 0 || id >= vocabSize) {
                    throw new RequestRejectedException(RequestRejectedException.Reason.INVALID,
                            "token id " + id + " is outside the model's vocabulary [0, " + vocabSize + ")");
                }
            }
            tokens += t.length;
        }
        if (inputs.isEmpty()) return new float[0][];
        if (queued.incrementAndGet() > maxQueued) {
            queued.decrementAndGet();
            throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "the embedding worker has " + maxQueued + " requests waiting: retry later");
        }
        Job job = new Job(inputs, tokens, new CompletableFuture<>());
        queue.add(job);
        if (closed && !thread.isAlive()) drain();
        try {
            return job.result().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }

    private void run() {
        try {
            while (true) {
                Job first = queue.take();
                if (first == STOP) break;
                List<Job> batch = new ArrayList<>();
                batch.add(first);
                int tokens = first.tokens();
                for (Job next; (next = queue.peek()) != null && next != STOP && tokens + next.tokens() <= maxBatchTokens; ) {
                    batch.add(queue.poll());
                    tokens += next.tokens();
                }
                queued.addAndGet(-batch.size());
                List<int[]> inputs = new ArrayList<>();
                for (Job j : batch) inputs.addAll(j.inputs());
                try {
                    float[][] out = embedder.embed(inputs);
                    int at = 0;
                    for (Job j : batch) {
                        float[][] mine = new float[j.inputs().size()][];
                        System.arraycopy(out, at, mine, 0, mine.length);
                        at += mine.length;
                        j.result().complete(mine);
                    }
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "an embedding batch failed: " + e);
                    for (Job j : batch) j.result().completeExceptionally(e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        drain();
    }

    private synchronized void drain() {
        for (Job j; (j = queue.poll()) != null; ) {
            if (j == STOP) continue;
            queued.decrementAndGet();
            j.result().completeExceptionally(new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN,
                    "the embedding worker shut down before the request ran: retry it"));
        }
    }

    @Override
    public int dimensions() {
        return embedder.dimensions();
    }

    @Override
    public int maxInputTokens() {
        return embedder.maxInputTokens();
    }

    @Override
    public boolean healthy() {
        return !closed && thread.isAlive();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        queue.add(STOP);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (embedder instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "closing the embedder failed: " + e);
            }
        }
    }
}
