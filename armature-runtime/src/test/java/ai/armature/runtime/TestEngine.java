package ai.armature.runtime;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.Usage;
import ai.armature.protocol.WorkerLostException;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker stand-in for runtime tests: each request generates {@code next = (31 * previous + position) % 1000}, one
 * token per {@code stepMillis}, until its max tokens, so a continuation from any prefix is predictable. It records
 * what it was sent and cancelled, can refuse the next submit, pause (a hung worker), or "die" after a number of
 * tokens per stream (its streams then throw {@link WorkerLostException}, as a broken remote stream does).
 */
public final class TestEngine implements GenerationEngine {

    public final String id;
    public final List<GenerateRequest> submitted = new CopyOnWriteArrayList<>();
    public final AtomicInteger cancels = new AtomicInteger();
    public final Map<String, TestStream> running = new ConcurrentHashMap<>();
    public volatile RequestRejectedException rejectNext;
    public volatile boolean paused;
    /** The whole worker stops, as under SIGSTOP: no output, and {@link #stats()} does not answer until thawed. */
    public volatile boolean frozen;
    public volatile int dieAfterTokens = -1;
    private final long stepMillis;

    public TestEngine(String id, long stepMillis) {
        this.id = id;
        this.stepMillis = stepMillis;
    }

    /** The token after {@code tokens[0, length)}. */
    public static int nextToken(int[] tokens, int length) {
        return (31 * tokens[length - 1] + length) % 1000;
    }

    /** The tokens an uninterrupted request generates. */
    public static int[] expected(int[] prompt, int maxTokens) {
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + maxTokens);
        for (int i = prompt.length; i < all.length; i++) all[i] = nextToken(all, i);
        return java.util.Arrays.copyOfRange(all, prompt.length, all.length);
    }

    @Override
    public GenerationStream submit(GenerateRequest request) {
        RequestRejectedException r = rejectNext;
        if (r != null) {
            rejectNext = null;
            throw r;
        }
        submitted.add(request);
        TestStream s = new TestStream(request);
        running.put(request.requestId(), s);
        Thread.ofVirtual().start(s::produce);
        return s;
    }

    @Override
    public void cancel(String requestId) {
        TestStream s = running.get(requestId);
        if (s != null) s.cancel();
    }

    @Override
    public EngineStats stats() {
        try {
            while (frozen) Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new EngineStats(0, running.size(), 100, running.size(), 0, 0, 0);
    }

    @Override
    public int maxContextTokens() {
        return 4096;
    }

    @Override
    public void close() {
        for (TestStream s : running.values()) s.cancel();
    }

    /** One request's generation. */
    public final class TestStream implements GenerationStream {
        private final GenerateRequest request;
        private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
        private volatile boolean cancelled;
        private boolean done;

        TestStream(GenerateRequest request) {
            this.request = request;
        }

        void produce() {
            int prompt = request.promptTokens().length;
            int[] tokens = java.util.Arrays.copyOf(request.promptTokens(), prompt + request.stop().maxTokens());
            int n = 0;
            try {
                while (n < request.stop().maxTokens()) {
                    Thread.sleep(stepMillis);
                    while ((paused || frozen) && !cancelled) Thread.sleep(5);
                    if (cancelled) break;
                    if (dieAfterTokens >= 0 && n >= dieAfterTokens) {
                        queue.add(new WorkerLostException(id, "worker " + id + " died", null));
                        running.remove(request.requestId());
                        return;
                    }
                    tokens[prompt + n] = nextToken(tokens, prompt + n);
                    n++;
                    boolean last = n == request.stop().maxTokens();
                    queue.add(output(new int[] {tokens[prompt + n - 1]}, last ? FinishReason.LENGTH : null, n));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (cancelled) queue.add(output(new int[0], FinishReason.CANCELLED, n));
            running.remove(request.requestId());
        }

        private GenerateOutput output(int[] ids, FinishReason reason, int generated) {
            return new GenerateOutput(request.requestId(), ids, null, reason,
                    new Usage(request.originalPromptLength(), 0, request.priorGeneratedTokens() + generated), null);
        }

        void cancel() {
            if (!cancelled) {
                cancelled = true;
                cancels.incrementAndGet();
            }
        }

        @Override
        public String requestId() {
            return request.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (done) return null;
            Object o = queue.take();
            if (o instanceof WorkerLostException e) {
                done = true;
                throw e;
            }
            GenerateOutput out = (GenerateOutput) o;
            if (out.finished()) done = true;
            return out;
        }

        @Override
        public void close() {
            if (!done) cancel();
        }
    }
}
