package ai.armature.runtime.migration;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationEngine;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.RequestRejectedException;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.runtime.TestEngine;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Migration resubmits prompt + generated tokens with the remaining budget to a worker that did not fail, and the
 * caller sees one continuous stream: the same tokens as without a failure, usage counted once, bounded retries.
 */
class MigratingEngineTest {

    private static final int[] PROMPT = {11, 22, 33};

    /** Sends each request to the first worker its migration does not exclude. */
    private static class FirstAvailable implements GenerationEngine {
        private final List<TestEngine> workers;

        FirstAvailable(List<TestEngine> workers) {
            this.workers = workers;
        }

        @Override
        public GenerationStream submit(GenerateRequest r) {
            Set<String> excluded = r.migration() == null ? Set.of() : r.migration().excludedWorkerIds();
            for (TestEngine w : workers) if (!excluded.contains(w.id)) return w.submit(r);
            throw new RequestRejectedException(RequestRejectedException.Reason.SHUTTING_DOWN, "no worker left");
        }

        @Override
        public void cancel(String requestId) {
            for (TestEngine w : workers) w.cancel(requestId);
        }

        @Override
        public EngineStats stats() {
            return new EngineStats(0, 0, 0, 0, 0, 0, 0);
        }

        @Override
        public int maxContextTokens() {
            return 4096;
        }

        @Override
        public void close() {
        }
    }

    private static List<GenerateOutput> drain(GenerationStream s) throws InterruptedException {
        List<GenerateOutput> outs = new ArrayList<>();
        for (GenerateOutput o; (o = s.next()) != null; ) outs.add(o);
        return outs;
    }

    private static int[] tokens(List<GenerateOutput> outs) {
        return outs.stream().flatMapToInt(o -> Arrays.stream(o.tokenIds())).toArray();
    }

    @Test
    void aLostWorkersRequestContinuesOnAnotherWithNoDuplicateOrMissingToken() throws Exception {
        TestEngine a = new TestEngine("a", 1), b = new TestEngine("b", 1);
        a.dieAfterTokens = 5;
        MigratingEngine engine = new MigratingEngine(new FirstAvailable(List.of(a, b)), 3, Duration.ofSeconds(5));
        List<GenerateOutput> outs = drain(engine.submit(new GenerateRequest("r", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(12))));

        assertThat(tokens(outs)).containsExactly(TestEngine.expected(PROMPT, 12));
        GenerateOutput last = outs.getLast();
        assertThat(last.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(last.requestId()).isEqualTo("r");
        assertThat(last.usage().promptTokens()).isEqualTo(3);
        assertThat(last.usage().completionTokens()).isEqualTo(12);
        assertThat(engine.migrations()).isEqualTo(1);

        GenerateRequest resumed = b.submitted.getFirst();
        assertThat(resumed.promptTokens()).containsExactly(concat(PROMPT, Arrays.copyOf(TestEngine.expected(PROMPT, 12), 5)));
        assertThat(resumed.stop().maxTokens()).isEqualTo(7);
        assertThat(resumed.migration().generatedTokens()).isEqualTo(5);
        assertThat(resumed.migration().excludedWorkerIds()).containsExactly("a");
        assertThat(resumed.sampling()).isEqualTo(SamplingParams.GREEDY);
    }

    @Test
    void theLimitEndsTheRequestWithAClearError() throws Exception {
        TestEngine a = new TestEngine("a", 1), b = new TestEngine("b", 1), c = new TestEngine("c", 1);
        a.dieAfterTokens = 2;
        b.dieAfterTokens = 1;
        MigratingEngine engine = new MigratingEngine(new FirstAvailable(List.of(a, b, c)), 1, Duration.ofSeconds(5));
        List<GenerateOutput> outs = drain(engine.submit(new GenerateRequest("r", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(10))));
        assertThat(tokens(outs)).containsExactly(Arrays.copyOf(TestEngine.expected(PROMPT, 10), 3));
        assertThat(outs.getLast().finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(outs.getLast().error()).contains("worker b died").contains("--migration-limit").contains("1");
        assertThat(outs.getLast().errorKind()).isEqualTo(GenerateOutput.ErrorKind.UNAVAILABLE); // a frontend's 503
        assertThat(outs.getLast().usage().completionTokens()).isEqualTo(3);
        assertThat(c.submitted).isEmpty();
        assertThat(engine.failedMigrations()).isEqualTo(1);
    }

    @Test
    void withNoWorkerLeftTheRequestFailsInsteadOfWaitingForever() throws Exception {
        TestEngine a = new TestEngine("a", 1);
        a.dieAfterTokens = 3;
        MigratingEngine engine = new MigratingEngine(new FirstAvailable(List.of(a)), 3, Duration.ofMillis(200));
        List<GenerateOutput> outs = drain(engine.submit(new GenerateRequest("r", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(10))));
        assertThat(tokens(outs)).hasSize(3);
        assertThat(outs.getLast().finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(outs.getLast().error()).contains("migration failed").contains("no worker left");
        assertThat(outs.getLast().errorKind()).isEqualTo(GenerateOutput.ErrorKind.UNAVAILABLE);
    }

    @Test
    void aNextWorkerThatRefusesTheRequestItselfIsAnInternalFailureAndAWorkersOwnErrorKeepsItsKind() throws Exception {
        TestEngine a = new TestEngine("a", 1), b = new TestEngine("b", 1);
        a.dieAfterTokens = 2;
        b.rejectNext = new RequestRejectedException(RequestRejectedException.Reason.PROMPT_TOO_LONG, "the prompt is too long for b");
        MigratingEngine engine = new MigratingEngine(new FirstAvailable(List.of(a, b)), 3, Duration.ofSeconds(5));
        GenerateOutput last = drain(engine.submit(new GenerateRequest("r", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(10)))).getLast();
        assertThat(last.errorKind()).isEqualTo(GenerateOutput.ErrorKind.INTERNAL);
        assertThat(last.error()).contains("migration failed").contains("too long for b");

        // A worker that ends the request with a failure of its own: the kind reaches the caller unchanged.
        GenerateOutput invalid = GenerateOutput.failed("w", new ai.armature.protocol.Usage(3, 0, 0), GenerateOutput.ErrorKind.INVALID, "bad");
        GenerationEngine failing = new FirstAvailable(List.of()) {
            @Override
            public GenerationStream submit(GenerateRequest r) {
                return new GenerationStream() {
                    private boolean sent;

                    @Override
                    public String requestId() {
                        return r.requestId();
                    }

                    @Override
                    public GenerateOutput next() {
                        if (sent) return null;
                        sent = true;
                        return invalid;
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
        GenerateOutput passed = new MigratingEngine(failing, 3, Duration.ofSeconds(1))
                .submit(new GenerateRequest("q", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(4))).next();
        assertThat(passed.errorKind()).isEqualTo(GenerateOutput.ErrorKind.INVALID);
        assertThat(passed.error()).isEqualTo("bad");
        assertThat(passed.requestId()).isEqualTo("q");
    }

    @Test
    void aLimitOfZeroNeverMigratesAndClosingCancelsTheCurrentWorker() throws Exception {
        TestEngine a = new TestEngine("a", 1), b = new TestEngine("b", 1);
        a.dieAfterTokens = 1;
        MigratingEngine noMigration = new MigratingEngine(new FirstAvailable(List.of(a, b)), 0, Duration.ofSeconds(1));
        List<GenerateOutput> outs = drain(noMigration.submit(new GenerateRequest("r", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(5))));
        assertThat(outs.getLast().finishReason()).isEqualTo(FinishReason.ERROR);
        assertThat(b.submitted).isEmpty();

        TestEngine slow = new TestEngine("s", 50);
        MigratingEngine engine = new MigratingEngine(new FirstAvailable(List.of(slow)), 3, Duration.ofSeconds(1));
        GenerationStream s = engine.submit(new GenerateRequest("q", PROMPT, SamplingParams.GREEDY, StopConditions.maxTokens(1000)));
        s.next();
        s.close();
        assertThat(slow.cancels.get()).isEqualTo(1);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
