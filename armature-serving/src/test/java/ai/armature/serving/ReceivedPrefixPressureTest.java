package ai.armature.serving;

import static ai.armature.serving.Harness.greedy;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.serving.kv.KvImport;
import ai.armature.serving.mock.MockModelRunner;
import ai.armature.serving.mock.MockProfile;
import ai.armature.serving.mock.SimClock;

/**
 * A decode worker's pool filled with prefixes received for waiting requests (disaggregated serving under memory
 * pressure): the first in line must not wait forever for blocks that the others' received prefixes hold.
 */
class ReceivedPrefixPressureTest {

    private static final MockProfile PROFILE = MockProfile.parse("h100-llama3-8b,max_context=4096");

    @Test
    void waitingRequestsWhoseReceivedPrefixesFillThePoolAllComplete() {
        // 9 blocks of 16 tokens. Two 65-token prompts arrive with their 4 full blocks each (8 held), 20 tokens to generate:
        // the first runs, needs a 6th block at position 80, is preempted (the pool holds only B's prefix and its own
        // blocks) and, waiting again, cannot get it while B's received prefix is held: nothing could run.
        long blockBytes = PROFILE.kvBytesPerToken() * 16;
        ServingConfig config = new ServingConfig(16, 256, 8, 9 * blockBytes, 100, null);
        MockModelRunner runner = new MockModelRunner(PROFILE, new SimClock());
        EngineCore core = new EngineCore(runner, config, e -> { });
        assertThat(core.totalBlocks()).isEqualTo(9);
        MockModelRunner source = new MockModelRunner(PROFILE, new SimClock());
        source.allocateKvCache(16, 16);
        Map<String, List<GenerateOutput>> outputs = new HashMap<>();
        for (String id : new String[] {"a", "b"}) {
            int[] prompt = new int[65];
            for (int i = 0; i < prompt.length; i++) prompt[i] = 100 + i + (id.equals("a") ? 0 : 1000);
            GenerateRequest r = greedy(id, prompt, 20);
            KvImport received = core.reserveImport(r);
            assertThat(received.capacity()).isEqualTo(4);
            received.copyFrom(source, new int[] {0, 1, 2, 3}, 0, 4);
            List<GenerateOutput> out = new ArrayList<>();
            outputs.put(id, out);
            core.add(r, null, out::add, received);
        }
        for (int steps = 0; core.hasWork() && steps < 1000; steps++) {
            assertThat(core.step()).as("a step runs while requests wait").isTrue();
        }
        for (List<GenerateOutput> out : outputs.values()) {
            assertThat(out.getLast().finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(out.stream().mapToInt(o -> o.tokenIds().length).sum()).isEqualTo(20);
        }
        assertThat(core.preemptions()).isPositive();
        assertThat(core.stats().kvBlocksUsed()).isZero();
    }
}
