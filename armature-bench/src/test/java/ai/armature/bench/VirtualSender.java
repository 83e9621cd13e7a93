package ai.armature.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A server in virtual time: request {@code i} (in send order) answers after its behaviour's time to first token,
 * then one chunk per token every inter-token gap, and reports its tokens as usage, all by parking on a
 * {@link VirtualClock}. What it records is exact, so tests compare the runner's figures with it to the nanosecond.
 */
final class VirtualSender implements RequestSender {

    /** Timing of one answer: {@code tokens} tokens in chunks of {@code perChunk}; {@code cached} prompt tokens hit. */
    record Timing(long ttftNanos, long itlNanos, int tokens, int perChunk, int cached) {
        static Timing of(long ttftNanos, long itlNanos, int tokens) {
            return new Timing(ttftNanos, itlNanos, tokens, 1, -1);
        }
    }

    /** One request as the "server" saw it: when it arrived and what it asked for. */
    record Sent(long arrivalNanos, RequestSpec spec) {
    }

    private final VirtualClock clock;
    private final IntFunction<Timing> timings;
    private final List<Sent> sent = Collections.synchronizedList(new ArrayList<>());

    VirtualSender(VirtualClock clock, IntFunction<Timing> timings) {
        this.clock = clock;
        this.timings = timings;
    }

    List<Sent> sent() {
        synchronized (sent) {
            return List.copyOf(sent);
        }
    }

    @Override
    public OpenAiClient.Result send(RequestSpec spec, Endpoint endpoint, long index, long runStartNanos, long scheduledOffsetNanos,
                                    boolean keepText) {
        long start = clock.nanoTime();
        int n;
        synchronized (sent) {
            n = sent.size();
            sent.add(new Sent(start, spec));
        }
        Timing t = timings.apply(n);
        int chunks = (t.tokens() + t.perChunk() - 1) / t.perChunk();
        long[] gaps = new long[Math.max(0, chunks - 1)];
        StringBuilder text = new StringBuilder();
        clock.parkUntil(start + t.ttftNanos(), () -> false);
        long first = clock.nanoTime();
        long last = first;
        text.append(" tok".repeat(Math.min(t.perChunk(), t.tokens())));
        for (int c = 1; c < chunks; c++) {
            clock.parkUntil(last + t.itlNanos(), () -> false);
            long now = clock.nanoTime();
            gaps[c - 1] = now - last;
            last = now;
            text.append(" tok".repeat(Math.min(t.perChunk(), t.tokens() - c * t.perChunk())));
        }
        RequestRecord r = new RequestRecord(index, spec.tag(), endpoint, start - runStartNanos, scheduledOffsetNanos,
                first - start, last - start, gaps, chunks, spec.requestedPromptTokens(), t.tokens(), t.cached(),
                spec.requestedPromptTokens(), spec.maxTokens(), null, 200, null);
        return new OpenAiClient.Result(r, keepText ? text.toString() : null);
    }
}
