package ai.armature.serving;

import static ai.armature.serving.Harness.config;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.InMemoryKvEventLog;
import ai.armature.protocol.kv.KvEvent;

/** Replays a worker's KV events into a fresh index and checks it equals the worker's real cached set. */
class KvEventReplayTest {

    private static final int VOCAB = 500;

    @Test
    void replayedEventsReproduceTheCachedSetAfterARandomWorkload() {
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        // A small cache (40 blocks of 4) so blocks get evicted and requests preempted.
        Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(4, 48, 6, 160), log);
        SplittableRandom rnd = new SplittableRandom(2024);
        int[][] prefixes = new int[4][];
        for (int i = 0; i < prefixes.length; i++) prefixes[i] = randomPrompt(rnd, 8 + rnd.nextInt(24), VOCAB);

        int id = 0;
        for (int round = 0; round < 30; round++) {
            int burst = 1 + rnd.nextInt(5);
            for (int i = 0; i < burst; i++) {
                int[] prompt = rnd.nextInt(3) == 0 ? randomPrompt(rnd, 1 + rnd.nextInt(40), VOCAB)
                        : Harness.concat(prefixes[rnd.nextInt(prefixes.length)], randomPrompt(rnd, rnd.nextInt(20), VOCAB));
                String salt = rnd.nextInt(5) == 0 ? "tenant" : null;
                h.add(new GenerateRequest("r" + id++, prompt, SamplingParams.GREEDY,
                        new StopConditions(1 + rnd.nextInt(20), null, true, false), rnd.nextInt(2), salt));
            }
            int steps = rnd.nextInt(12);
            for (int s = 0; s < steps && h.core.hasWork(); s++) h.core.step();
            if (rnd.nextInt(6) == 0 && id > 0) h.core.cancel("r" + rnd.nextInt(id));
            if (round == 15) h.core.resetPrefixCache();
        }
        h.runToIdle();

        List<KvEvent> events = log.events();
        assertThat(events).extracting(KvEvent::eventId)
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, events.size()).boxed().toList());
        assertThat(events).hasAtLeastOneElementOfType(KvEvent.BlockRemoved.class);
        assertThat(events).hasAtLeastOneElementOfType(KvEvent.AllBlocksCleared.class);

        Set<Long> replayed = new HashSet<>();
        for (KvEvent e : events) {
            switch (e) {
                case KvEvent.BlockStored s -> assertThat(replayed.add(s.blockHash())).as("stored twice without removal").isTrue();
                case KvEvent.BlockRemoved r -> assertThat(replayed.remove(r.blockHash())).as("removed but never stored").isTrue();
                case KvEvent.AllBlocksCleared c -> replayed.clear();
            }
        }
        assertThat(replayed).isNotEmpty().isEqualTo(h.core.kvSnapshot().hashes(ai.armature.protocol.kv.KvTier.DEVICE));
        assertThat(h.core.stats().kvBlocksCached()).isEqualTo(replayed.size());
    }
}
