package ai.armature.serving;

import static ai.armature.serving.Harness.config;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.TokenLogprob;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;

/**
 * The worker owns end-of-generation: {@code ignore_eos}, {@code min_tokens} (end and stop tokens masked until then),
 * usage that counts only what is sent, and prompt logprobs (every prompt position computed, no cached prefix).
 */
class StopAndPromptLogprobsTest {

    /** A mocker that would end every sequence at once: every token it picks is EOS (id 0) unless masked. */
    private static final MockProfile ALWAYS_EOS = MockProfile.parse("name=eos,vocab_size=500,max_context=1024,eos_token_ids=0:7,"
            + "kv_bytes_per_token=1,kv_cache=4096,eos_probability=1");

    private static Harness mock(MockProfile profile) {
        return new Harness(new MockModelRunner(profile, new SimClock()), config(16, 256, 8, 4096));
    }

    private static GenerateRequest request(String id, int max, int[] stops, boolean ignoreEos, int min) {
        return new GenerateRequest(id, new int[] {1, 2, 3}, SamplingParams.GREEDY, new StopConditions(max, stops, ignoreEos, false, min));
    }

    @Test
    void minTokensHoldsOffEndTokensThenLetsThemEnd() {
        Harness h = mock(ALWAYS_EOS);
        h.add(request("plain", 20, null, false, 0));
        h.add(request("min4", 20, null, false, 4));
        h.add(request("ignore", 6, null, true, 0));
        h.runToIdle();
        assertThat(h.tokens("plain")).isEmpty();
        assertThat(h.last("plain").finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.last("plain").usage().completionTokens()).isZero();
        // Four tokens that are not end ids, then EOS is allowed and comes at once.
        assertThat(h.tokens("min4")).hasSize(4).doesNotContain(0, 7);
        assertThat(h.last("min4").finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.last("min4").usage().completionTokens()).isEqualTo(4);
        // ignore_eos: the end id does not end the sequence; max tokens does.
        assertThat(h.tokens("ignore")).hasSize(6);
        assertThat(h.last("ignore").finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void minTokensAlsoMasksTheRequestsOwnStopIds() {
        int[] prompt = Harness.randomPrompt(new SplittableRandom(3), 12, 1000);
        Harness free = new Harness(new CheckingRunner(1000, 4096), config(16, 64, 8, 1024));
        free.add(Harness.greedy("free", prompt, 10));
        free.runToIdle();
        int first = free.tokens("free")[0];
        Harness h = new Harness(new CheckingRunner(1000, 4096), config(16, 64, 8, 1024));
        h.add(new GenerateRequest("stop-now", prompt, SamplingParams.GREEDY, new StopConditions(10, new int[] {first}, true, false, 0)));
        h.add(new GenerateRequest("stop-later", prompt, SamplingParams.GREEDY, new StopConditions(10, new int[] {first}, true, false, 3)));
        h.runToIdle();
        assertThat(h.tokens("stop-now")).isEmpty();
        int[] later = h.tokens("stop-later");
        assertThat(later.length).isGreaterThanOrEqualTo(3);
        assertThat(java.util.Arrays.copyOf(later, 3)).doesNotContain(first);
    }

    @Test
    void theMockersPromptLogprobsAreThoseOfACertainModel() {
        MockProfile profile = MockProfile.parse("name=m,vocab_size=500,max_context=1024,eos_token_ids=0,kv_bytes_per_token=1,kv_cache=4096");
        Harness gen = mock(profile);
        gen.add(new GenerateRequest("g", new int[] {5}, SamplingParams.GREEDY, new StopConditions(6, null, true, false)));
        gen.runToIdle();
        // A prompt the mocker itself would generate greedily, with one foreign token at the end.
        int[] own = Harness.concat(new int[] {5}, gen.tokens("g"));
        int[] prompt = Harness.concat(own, new int[] {own[own.length - 1] == 9 ? 10 : 9});
        Harness h = mock(profile);
        h.add(new GenerateRequest("p", prompt, SamplingParams.GREEDY.withPromptLogprobs(1), new StopConditions(2, null, true, false)));
        h.runToIdle();
        List<TokenLogprob> lps = promptLogprobs(h.outputs.get("p"));
        assertThat(lps).hasSize(prompt.length);
        assertThat(lps.getFirst()).isNull();
        for (int i = 1; i < own.length; i++) {
            assertThat(lps.get(i).tokenId()).isEqualTo(prompt[i]);
            assertThat(lps.get(i).logprob()).isZero();
            assertThat(lps.get(i).rank()).isEqualTo(1);
        }
        TokenLogprob foreign = lps.getLast();
        assertThat(foreign.logprob()).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(foreign.rank()).isEqualTo(2);
        assertThat(foreign.topTokenIds()).hasSize(1);
    }

    @Test
    void promptLogprobRequestsComputeTheirWholePromptAndDoNotTouchTheCacheStatistics() {
        MockProfile profile = MockProfile.parse("name=m,vocab_size=500,max_context=1024,eos_token_ids=0,kv_bytes_per_token=1,kv_cache=4096");
        Harness h = mock(profile);
        int[] prompt = Harness.randomPrompt(new SplittableRandom(4), 40, 500);
        h.add(new GenerateRequest("warm", prompt, SamplingParams.GREEDY, new StopConditions(2, null, true, false)));
        h.runToIdle();
        h.add(new GenerateRequest("scored", prompt, SamplingParams.GREEDY.withPromptLogprobs(0), new StopConditions(2, null, true, false)));
        h.runToIdle();
        assertThat(h.last("scored").usage().cachedPromptTokens()).isZero();
        List<TokenLogprob> lps = promptLogprobs(h.outputs.get("scored"));
        for (int i = 1; i < prompt.length; i++) assertThat(lps.get(i)).as("position " + i).isNotNull();
        h.add(new GenerateRequest("again", prompt, SamplingParams.GREEDY, new StopConditions(2, null, true, false)));
        h.runToIdle();
        assertThat(h.last("again").usage().cachedPromptTokens()).isEqualTo(32);
        assertThat(h.core.stats().prefixCacheQueryTokens()).isEqualTo(80); // "scored" looked nothing up
    }

    private static List<TokenLogprob> promptLogprobs(List<GenerateOutput> outputs) {
        List<TokenLogprob> found = null;
        for (GenerateOutput o : outputs) {
            if (o.promptLogprobs() != null) {
                assertThat(found).as("prompt logprobs arrive once").isNull();
                assertThat(o.tokenIds()).as("with the first tokens").isNotEmpty();
                found = o.promptLogprobs();
            }
        }
        assertThat(found).isNotNull();
        return found;
    }
}
