package ai.armature.frontend;

import ai.armature.protocol.EngineStats;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The throughput line on virtual time: rates over the interval since the last line, nothing while idle. */
class ThroughputLogTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void ratesCoverTheIntervalSinceTheLastLineAndIdleIsSilent() {
        AtomicLong now = new AtomicLong(5 * SECOND);
        AtomicReference<EngineStats> stats = new AtomicReference<>(new EngineStats(0, 0, 1000, 0, 0, 0, 0));
        ThroughputLog log = new ThroughputLog(stats::get, now::get);

        now.addAndGet(10 * SECOND);
        assertThat(log.tick()).as("idle: nothing computed, nothing in flight").isNull();

        // Over 4 s: two prompts (300 and 100 computed tokens), 200 generated; 3 running, 2 waiting, 250 of 1000
        // blocks used; prefix lookups of 400 tokens with 100 hits.
        log.promptComputed(300);
        log.promptComputed(100);
        log.generated(150);
        log.generated(50);
        log.generated(0);
        stats.set(new EngineStats(2, 3, 1000, 250, 10, 400, 100));
        now.addAndGet(4 * SECOND);
        assertThat(log.tick()).isEqualTo("Avg prompt throughput: 100.0 tokens/s, Avg generation throughput: 50.0 tokens/s, "
                + "Running: 3 reqs, Waiting: 2 reqs, KV cache usage: 25.0%, Prefix cache hit rate: 25.0%");

        // The next 2 s: nothing new computed but requests still running: a line, rates 0, no lookups ("-").
        now.addAndGet(2 * SECOND);
        assertThat(log.tick()).isEqualTo("Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 0.0 tokens/s, "
                + "Running: 3 reqs, Waiting: 2 reqs, KV cache usage: 25.0%, Prefix cache hit rate: -");

        stats.set(new EngineStats(0, 0, 1000, 0, 10, 400, 100));
        now.addAndGet(2 * SECOND);
        assertThat(log.tick()).isNull();
    }

    @Test
    void theServerCountsThePromptsAndTokensItStreams() throws Exception {
        try (TestServer s = new TestServer(c -> c.withStatsLogInterval(java.time.Duration.ZERO))) {
            // 7 prompt tokens each (BOS + 6 bytes), none cached (new prompts); 5 generated each, streaming or not.
            assertThat(s.post("/v1/completions", "{\"prompt\":\"abcdef\",\"max_tokens\":5}", true).statusCode()).isEqualTo(200);
            assertThat(s.post("/v1/completions", "{\"prompt\":\"uvwxyz\",\"max_tokens\":5,\"stream\":true}", true).statusCode())
                    .isEqualTo(200);
            assertThat(s.server.throughputLog().promptTokens()).isEqualTo(14);
            assertThat(s.server.throughputLog().generatedTokens()).isEqualTo(10);
            // A prompt seen before: the engine reports its whole 16-token blocks cached, which were not computed.
            String longPrompt = "p".repeat(40);
            for (int i = 0; i < 2; i++) {
                assertThat(s.post("/v1/completions", "{\"prompt\":\"" + longPrompt + "\",\"max_tokens\":1}", true).statusCode())
                        .isEqualTo(200);
            }
            // 41 computed the first time, 41 - 32 cached the second.
            assertThat(s.server.throughputLog().promptTokens()).isEqualTo(14 + 41 + 9);
        }
    }
}
