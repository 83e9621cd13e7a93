package ai.armature.bench;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Prompt words: counts, determinism, distinct ids, and the calibrated size model. */
class PromptTextTest {

    @Test
    void wordsAreDeterministicCountedAndDistinctPerId() {
        assertThat(PromptText.words(1, 7, 50)).isEqualTo(PromptText.words(1, 7, 50));
        assertThat(PromptText.countWords(PromptText.words(1, 7, 50))).isEqualTo(50);
        assertThat(PromptText.words(1, 7, 80)).startsWith(PromptText.words(1, 7, 50));
        Set<String> distinct = new HashSet<>();
        for (long id = 0; id < 2000; id++) {
            distinct.add(PromptText.words(1, id, 4));
        }
        assertThat(distinct).hasSize(2000);
        assertThat(PromptText.words(1, 7, 50)).isNotEqualTo(PromptText.words(2, 7, 50));
    }

    @Test
    void calibratedSizesSubtractTheOverheadAndScaleByTokensPerWord() {
        PromptText t = new PromptText(1.25, 10);
        assertThat(t.wordsFor(510)).isEqualTo(400);
        assertThat(t.wordsForPiece(500)).isEqualTo(400);
        assertThat(PromptText.uncalibrated().wordsFor(64)).isEqualTo(64);
    }

    @Test
    void calibrationFitsTheServersTokenCounts() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(0, 0, 1));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(5))) {
            server.countPromptsAs(2, 5);
            Calibration.Result r = Calibration.run(client, Endpoint.COMPLETIONS, 1);
            assertThat(r.calibrated()).isTrue();
            assertThat(r.text().tokensPerWord()).isEqualTo(2.0);
            assertThat(r.text().overheadTokens()).isEqualTo(5);
            assertThat(r.text().wordsFor(205)).isEqualTo(100);
            assertThat(server.seen()).allMatch(s -> s.body().get("max_tokens").asInt() == 1);
        }
    }

    @Test
    void calibrationWithoutUsageFallsBackToOneTokenPerWord() throws Exception {
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.status(404));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(5))) {
            Calibration.Result r = Calibration.run(client, Endpoint.COMPLETIONS, 1);
            assertThat(r.calibrated()).isFalse();
            assertThat(r.text().tokensPerWord()).isEqualTo(1.0);
            assertThat(r.note()).contains("calibration failed");
        }
    }

    @Test
    void durationsAcceptUnits() {
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("2s")).isEqualTo(Duration.ofSeconds(2));
        assertThat(Durations.parse("1.5m")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("3")).isEqualTo(Duration.ofSeconds(3));
        assertThat(Durations.seconds("50ms")).isEqualTo(0.05);
        assertThatThrownBy(() -> Durations.parse("soon")).hasMessageContaining("not a duration");
    }
}
