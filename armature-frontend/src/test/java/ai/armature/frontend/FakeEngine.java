package ai.armature.frontend;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.TokenLogprob;
import ai.armature.protocol.Usage;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * A deterministic engine for frontend tests: each request "generates" the UTF-8 bytes of a reply text (by default
 * a fixed sentence) one token per output on its own virtual thread, then ends with STOP (as if EOS came) or LENGTH
 * at max tokens. A {@link Semaphore} gate can hold generation so a test can act mid-stream; a per-token delay
 * simulates compute. It honours cancel, limits its queue, reports prefix-cache hits for prompts seen before (whole
 * 16-token blocks) and counts what it has in flight, so tests can check that nothing leaks.
 */
final class FakeEngine implements GenerationEngine {

    static final String DEFAULT_REPLY = "The quick brown fox jumps over the lazy dog.";

    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Set<Integer> seenPrompts = ConcurrentHashMap.newKeySet();
    private final AtomicInteger submitted = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    private final Object idleLock = new Object();
    private final List<GenerateRequest> requests = java.util.Collections.synchronizedList(new ArrayList<>());
    volatile Function<GenerateRequest, String> reply = r -> DEFAULT_REPLY;
    /** When set, the reply as token ids (for tokenizers other than the byte tokenizer); else the reply's bytes. */
    volatile Function<GenerateRequest, int[]> replyTokens;
    volatile Semaphore gate;
    volatile long tokenDelayNanos;
    volatile int maxActive = Integer.MAX_VALUE;
    volatile int contextTokens = 4096;
    volatile String failWith;
    /** The kind of the failure {@link #failWith} ends requests with (null: the default, INTERNAL). */
    volatile GenerateOutput.ErrorKind failKind;
    /** How many tokens a request produces before {@link #failWith} ends it. */
    volatile int failAfterTokens = 2;

    @Override
    public GenerationStream submit(GenerateRequest request) {
        synchronized (idleLock) {
            if (jobs.size() >= maxActive) {
                throw new RequestRejectedException(RequestRejectedException.Reason.QUEUE_FULL, "fake engine queue is full");
            }
            Job job = new Job(request);
            jobs.put(request.requestId(), job);
            submitted.incrementAndGet();
            requests.add(request);
            job.thread = Thread.ofVirtual().name("fake-" + request.requestId()).start(job::run);
            idleLock.notifyAll();
            return job;
        }
    }

    @Override
    public void cancel(String requestId) {
        Job job = jobs.get(requestId);
        if (job != null && !job.cancelRequested) {
            job.cancelRequested = true;
            cancelled.incrementAndGet();
            job.thread.interrupt();
        }
    }

    @Override
    public EngineStats stats() {
        int active = jobs.size();
        return new EngineStats(0, active, 1000, active * 2L, 10, 100, 25);
    }

    @Override
    public int maxContextTokens() {
        return contextTokens;
    }

    @Override
    public void close() {
        for (String id : jobs.keySet()) cancel(id);
    }

    int active() {
        return jobs.size();
    }

    int submittedCount() {
        return submitted.get();
    }

    int cancelledCount() {
        return cancelled.get();
    }

    List<GenerateRequest> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /** Waits until at least {@code n} requests are in flight. */
    void awaitActive(int n) throws InterruptedException {
        synchronized (idleLock) {
            while (jobs.size() < n) idleLock.wait();
        }
    }

    /** Waits until no request is in flight; false if {@code timeout} passed first. */
    boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (idleLock) {
            while (!jobs.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                idleLock.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    private final class Job implements GenerationStream {
        final GenerateRequest request;
        final LinkedBlockingQueue<GenerateOutput> queue = new LinkedBlockingQueue<>();
        volatile boolean cancelRequested;
        volatile boolean finishedDelivered;
        Thread thread;

        Job(GenerateRequest request) {
            this.request = request;
        }

        void run() {
            int prompt = request.promptTokens().length;
            int promptHash = Arrays.hashCode(request.promptTokens());
            int cached = seenPrompts.add(promptHash) ? 0 : (prompt / 16) * 16;
            Function<GenerateRequest, int[]> asTokens = replyTokens;
            int[] text = asTokens != null ? asTokens.apply(request) : toInts(reply.apply(request).getBytes(StandardCharsets.UTF_8));
            int max = request.stop().maxTokens();
            int produced = 0;
            FinishReason finish;
            String error = null;
            try {
                while (true) {
                    if (cancelRequested) {
                        finish = FinishReason.CANCELLED;
                        break;
                    }
                    if (failWith != null && produced == failAfterTokens) {
                        finish = FinishReason.ERROR;
                        error = failWith;
                        break;
                    }
                    if (produced == text.length) {
                        finish = FinishReason.STOP;
                        break;
                    }
                    Semaphore g = gate;
                    if (g != null) g.acquire();
                    if (tokenDelayNanos > 0) LockSupport.parkNanos(tokenDelayNanos);
                    if (cancelRequested) {
                        finish = FinishReason.CANCELLED;
                        break;
                    }
                    int token = text[produced];
                    produced++;
                    List<TokenLogprob> lps = request.sampling().logprobs() >= 0 ? List.of(logprob(token, request.sampling().logprobs())) : null;
                    boolean last = produced == max;
                    queue.add(new GenerateOutput(request.requestId(), new int[] {token}, lps,
                            last ? FinishReason.LENGTH : null, new Usage(prompt, cached, produced), null,
                            produced == 1 ? promptLogprobs(request) : null));
                    if (last) {
                        finish = null;
                        break;
                    }
                }
            } catch (InterruptedException e) {
                finish = FinishReason.CANCELLED;
            }
            if (finish != null) {
                queue.add(new GenerateOutput(request.requestId(), new int[0], null, finish, new Usage(prompt, cached, produced), error, null,
                        finish == FinishReason.ERROR ? failKind : null));
            }
            synchronized (idleLock) {
                jobs.remove(request.requestId());
                idleLock.notifyAll();
            }
        }

        /**
         * Prompt logprobs when asked for, with the first output: none for the first token, then token i has logprob
         * -0.25 i, rank i + 1, and top alternatives (i + k) % 128 at -0.1 (k + 1).
         */
        private static List<TokenLogprob> promptLogprobs(GenerateRequest r) {
            int top = r.sampling().promptLogprobs();
            if (top < 0) return null;
            int[] p = r.promptTokens();
            List<TokenLogprob> out = new ArrayList<>(p.length);
            out.add(null);
            for (int i = 1; i < p.length; i++) {
                int[] ids = new int[top];
                float[] lps = new float[top];
                for (int k = 0; k < top; k++) {
                    ids[k] = (i + k) % 128;
                    lps[k] = -0.1f * (k + 1);
                }
                out.add(new TokenLogprob(p[i], -0.25f * i, ids, lps, i + 1));
            }
            return java.util.Collections.unmodifiableList(out);
        }

        private static int[] toInts(byte[] bytes) {
            int[] out = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) out[i] = bytes[i] & 0xff;
            return out;
        }

        private TokenLogprob logprob(int token, int top) {
            int[] ids = new int[top];
            float[] lps = new float[top];
            for (int i = 0; i < top; i++) {
                ids[i] = i == 0 ? token : (token + i) % 128;
                lps[i] = -0.5f * (i + 1);
            }
            return new TokenLogprob(token, -0.5f, ids, lps);
        }

        @Override
        public String requestId() {
            return request.requestId();
        }

        @Override
        public GenerateOutput next() throws InterruptedException {
            if (finishedDelivered) return null;
            GenerateOutput out = queue.take();
            if (out.finished()) finishedDelivered = true;
            return out;
        }

        @Override
        public void close() {
            if (!finishedDelivered) cancel(request.requestId());
        }
    }
}
