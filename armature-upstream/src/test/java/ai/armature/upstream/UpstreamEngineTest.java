package ai.armature.upstream;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.WorkerLostException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The adapter against a scripted upstream: what goes up, what comes back, failures, health and cancellation. */
class UpstreamEngineTest {

    private static final int EOS = 2;
    private FakeUpstream fake;
    private UpstreamEngine engine;
    private final LinkedBlockingQueue<String> transitions = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        fake = new FakeUpstream(64);
        UpstreamConfig config = UpstreamConfig.of(fake.url().resolve("/v1"), UpstreamKind.VLLM, "up-0", "served", new int[] {EOS},
                text -> new int[] {text.length()}).withHealth(Duration.ofMillis(20), 2);
        engine = new UpstreamEngine(config);
        engine.start(new UpstreamEngine.Listener() {
            @Override
            public void healthy(UpstreamEngine e) {
                transitions.add("up");
            }

            @Override
            public void unhealthy(UpstreamEngine e, String reason) {
                transitions.add("down");
            }
        });
        assertThat(transitions.poll(30, TimeUnit.SECONDS)).isEqualTo("up");
    }

    @AfterEach
    void stop() {
        engine.close();
        fake.close();
    }

    private static GenerateRequest request(String id, int maxTokens, boolean ignoreEos) {
        SamplingParams s = new SamplingParams(0, 1, 0, 0, 1, 0, 0, 42, -1);
        return new GenerateRequest(id, new int[] {1, 5, 9}, s, new StopConditions(maxTokens, new int[] {EOS}, ignoreEos, false));
    }

    private static List<GenerateOutput> drain(GenerationStream s) throws InterruptedException {
        List<GenerateOutput> out = new ArrayList<>();
        for (GenerateOutput o; (o = s.next()) != null; ) out.add(o);
        return out;
    }

    @Test
    void learnsTheUpstreamAndSendsTokenIds() throws Exception {
        assertThat(engine.info().upstreamModel()).isEqualTo("up-model");
        assertThat(engine.maxContextTokens()).isEqualTo(64);
        assertThat(engine.info().tokenIds()).isEqualTo(TokenIdSource.TOKEN_IDS);
        fake.script.set((req, out) -> {
            out.data(FakeUpstream.tokens("a", 10));
            out.data(FakeUpstream.tokens("b", 11, EOS));
            out.data(FakeUpstream.finish("stop"));
            out.data(FakeUpstream.usage(3, 3, 1));
            out.done();
        });
        List<GenerateOutput> outs = drain(engine.submit(request("r1", 8, false)));
        assertThat(outs).hasSize(3);
        assertThat(outs.get(0).tokenIds()).containsExactly(10);
        assertThat(outs.get(0).usage()).as("cache hits are known only at the end").isNull();
        assertThat(outs.get(1).tokenIds()).containsExactly(11);
        GenerateOutput last = outs.get(2);
        assertThat(last.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(last.tokenIds()).isEmpty(); // the end-of-generation token is not passed on
        assertThat(last.usage().promptTokens()).isEqualTo(3);
        assertThat(last.usage().cachedPromptTokens()).isEqualTo(1);
        assertThat(last.usage().completionTokens()).isEqualTo(3);
        var body = fake.requests.getFirst();
        assertThat(body.path("model").asText()).isEqualTo("up-model");
        assertThat(body.path("prompt").toString()).isEqualTo("[1,5,9]");
        assertThat(body.path("max_tokens").asInt()).isEqualTo(8);
        assertThat(body.path("seed").asLong()).isEqualTo(42);
        assertThat(body.path("temperature").asDouble()).isZero();
        assertThat(body.path("return_token_ids").asBoolean()).isTrue();
        assertThat(body.path("stop_token_ids").toString()).isEqualTo("[2]");
        assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void anEndOfGenerationTokenFollowedByMoreIsPassedOn() throws Exception {
        fake.script.set((req, out) -> {
            out.data(FakeUpstream.tokens("", EOS));
            out.data(FakeUpstream.tokens("c", 12));
            out.data(FakeUpstream.finish("length"));
            out.done();
        });
        List<GenerateOutput> outs = drain(engine.submit(request("r2", 2, true)));
        assertThat(outs.getFirst().tokenIds()).containsExactly(EOS, 12);
        assertThat(outs.getLast().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(fake.requests.getFirst().path("ignore_eos").asBoolean()).isTrue();
    }

    @Test
    void aStopAtTheTokenLimitIsALengthFinish() throws Exception {
        fake.script.set((req, out) -> {
            out.data(FakeUpstream.tokens("a", 10));
            out.data(FakeUpstream.tokens("b", 11));
            out.data(FakeUpstream.finish("stop")); // as ik_llama.cpp reports a request ended by its limit
            out.done();
        });
        assertThat(drain(engine.submit(request("r10", 2, false))).getLast().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void refusalsKeepTheirMeaning() {
        fake.script.set((req, out) -> out.status(400, "{\"error\":{\"message\":\"bad top_p\"}}"));
        assertThatThrownBy(() -> engine.submit(request("r3", 4, false))).isInstanceOf(RequestRejectedException.class)
                .hasMessageContaining("bad top_p").extracting(e -> ((RequestRejectedException) e).reason())
                .isEqualTo(RequestRejectedException.Reason.INVALID);
        fake.script.set((req, out) -> out.status(429, "{\"error\":{\"message\":\"queue full\"}}"));
        assertThatThrownBy(() -> engine.submit(request("r4", 4, false))).extracting(e -> ((RequestRejectedException) e).reason())
                .isEqualTo(RequestRejectedException.Reason.QUEUE_FULL);
        assertThatThrownBy(() -> engine.submit(request("r5", 100, false))).extracting(e -> ((RequestRejectedException) e).reason())
                .isEqualTo(RequestRejectedException.Reason.PROMPT_TOO_LONG);
    }

    @Test
    void aStreamThatEndsEarlyIsAWorkerLost() throws Exception {
        fake.script.set((req, out) -> {
            out.data(FakeUpstream.tokens("a", 10));
            out.hangUp();
        });
        GenerationStream s = engine.submit(request("r6", 8, false));
        assertThat(s.next().tokenIds()).containsExactly(10);
        assertThatThrownBy(s::next).isInstanceOf(WorkerLostException.class).hasMessageContaining("up-0");
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void cancellingClosesTheUpstreamConnection() throws Exception {
        CountDownLatch closedByClient = new CountDownLatch(1);
        fake.script.set((req, out) -> {
            try {
                for (int i = 0; ; i++) {
                    out.data(FakeUpstream.tokens("t", 20 + i % 10));
                    Thread.sleep(5);
                }
            } catch (IOException e) {
                closedByClient.countDown();
            }
        });
        GenerationStream s = engine.submit(request("r7", 60, false));
        assertThat(s.next().tokenIds()).hasSize(1);
        engine.cancel("r7");
        GenerateOutput last;
        while ((last = s.next()) != null && !last.finished()) {
            // tokens already buffered before the cancel
        }
        assertThat(last).isNotNull();
        assertThat(last.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(closedByClient.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(engine.inFlight()).isZero();
    }

    @Test
    void anUnhealthyUpstreamFailsItsStreamsRefusesRequestsAndComesBack() throws Exception {
        CountDownLatch streaming = new CountDownLatch(1);
        fake.script.set((req, out) -> {
            out.data(FakeUpstream.tokens("a", 10));
            streaming.countDown();
            Thread.sleep(60_000);
        });
        GenerationStream s = engine.submit(request("r8", 8, false));
        assertThat(s.next().tokenIds()).containsExactly(10);
        assertThat(streaming.await(30, TimeUnit.SECONDS)).isTrue();
        fake.healthStatus.set(500);
        assertThat(transitions.poll(30, TimeUnit.SECONDS)).isEqualTo("down");
        assertThat(engine.healthy()).isFalse();
        assertThatThrownBy(s::next).isInstanceOf(WorkerLostException.class).hasMessageContaining("unhealthy");
        assertThatThrownBy(() -> engine.submit(request("r9", 4, false))).extracting(e -> ((RequestRejectedException) e).reason())
                .isEqualTo(RequestRejectedException.Reason.SHUTTING_DOWN);
        fake.healthStatus.set(200);
        assertThat(transitions.poll(30, TimeUnit.SECONDS)).isEqualTo("up");
        assertThat(engine.healthy()).isTrue();
    }
}
