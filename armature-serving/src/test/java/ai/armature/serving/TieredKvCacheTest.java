package ai.armature.serving;

import static ai.armature.serving.Harness.greedy;
import static ai.armature.serving.Harness.randomPrompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.BlockHasher;
import ai.armature.protocol.kv.InMemoryKvEventLog;
import ai.armature.protocol.kv.KvCacheSnapshot;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.protocol.kv.KvTier;
import ai.armature.serving.kv.KvTierConfig;
import ai.armature.protocol.kv.KvTierStats;

/**
 * The tiered KV cache through the real scheduler with the checking runner, which fails any step that reads K/V
 * other than what the sequence itself (or an identical prefix) wrote: blocks copied down to host memory or disk
 * and back up must be exactly what was computed. Outputs are compared with a worker without tiers.
 */
class TieredKvCacheTest {

    private static final int VOCAB = 1000;
    private static final int BLOCK = 4;
    private static final long BLOCK_BYTES = 9L * BLOCK; // the checking runner's block layout

    @TempDir
    Path dir;

    /** 12 device blocks of 4 tokens: a few prompts evict each other. */
    private static ServingConfig config(KvTierConfig tiers) {
        return Harness.config(BLOCK, 64, 8, 12 * BLOCK).withKvTiers(tiers);
    }

    private static int[] plain(GenerateRequest r) {
        try (Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(KvTierConfig.NONE))) {
            h.add(r);
            h.runToIdle();
            return h.tokens(r.requestId());
        }
    }

    private static KvTierStats tier(Harness h, KvTier t) {
        return h.core.kvTierStats().stream().filter(s -> s.tier() == t).findFirst().orElseThrow();
    }

    private static void assertIdle(Harness h) {
        assertThat(h.core.hasWork()).isFalse();
        assertThat(h.core.stats().kvBlocksUsed()).isZero();
        assertThat(h.core.stats().runningRequests()).isZero();
        assertThat(h.core.stats().waitingRequests()).isZero();
    }

    /** Evicts everything cached in the 12-block device pool with unrelated prompts. */
    private static void flushDevice(Harness h, SplittableRandom rnd, String tag) {
        for (int i = 0; i < 3; i++) h.add(greedy(tag + i, randomPrompt(rnd, 40, VOCAB), 2));
        h.runToIdle();
    }

    @Test
    void aConversationEvictedFromDeviceMemoryIsCopiedBackFromHostMemoryInsteadOfRecomputed() {
        SplittableRandom rnd = new SplittableRandom(1);
        GenerateRequest turn = greedy("turn", randomPrompt(rnd, 26, VOCAB), 6);
        int[] expected = plain(turn);
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        try (Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(new KvTierConfig(200 * BLOCK_BYTES, null, 0)), log)) {
            h.add(turn);
            h.runToIdle();
            flushDevice(h, rnd, "other");
            long computedBefore = h.core.counters().prefillTokensComputed();
            GenerateRequest again = greedy("again", turn.promptTokens(), 6);
            h.add(again);
            h.runToIdle();

            assertThat(h.tokens("turn")).containsExactly(expected);
            assertThat(h.tokens("again")).containsExactly(expected);
            assertThat(h.last("again").usage().cachedPromptTokens()).isEqualTo(24);
            // Only the block holding the last prompt token was computed again.
            assertThat(h.core.counters().prefillTokensComputed() - computedBefore).isEqualTo(2);
            KvTierStats host = tier(h, KvTier.HOST);
            assertThat(host.hitBlocks()).isEqualTo(6);
            assertThat(host.upBlocks()).isEqualTo(6);
            assertThat(host.upBytes()).isEqualTo(6 * BLOCK_BYTES);
            assertThat(host.downBlocks()).isGreaterThanOrEqualTo(6);
            assertThat(host.blocks()).isEqualTo(host.bytes() / BLOCK_BYTES).isPositive();
            assertIdle(h);
            assertThat(log.events()).anyMatch(e -> e instanceof KvEvent.BlockStored s && s.tier() == KvTier.HOST);
            assertReplayMatches(log.events(), h.core.kvSnapshot());
        }
    }

    @Test
    void theDiskTierSurvivesARestartAndItsBlocksAreCopiedUpInsteadOfRecomputed() {
        SplittableRandom rnd = new SplittableRandom(2);
        GenerateRequest turn = greedy("turn", randomPrompt(rnd, 30, VOCAB), 5);
        int[] expected = plain(turn);
        KvTierConfig tiers = new KvTierConfig(0, dir, 1 << 20);
        Set<Long> onDisk;
        try (Harness first = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            first.add(turn);
            first.runToIdle();
            onDisk = first.core.kvSnapshot().hashes(KvTier.DISK);
            assertThat(onDisk).hasSize(8); // 30 prompt + 4 generated positions computed: 8 full blocks
        }
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        try (Harness second = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers), log)) {
            // Re-indexed at start and published as stored on disk, before anything ran.
            assertThat(log.events()).hasSize(8).allMatch(e -> e instanceof KvEvent.BlockStored s && s.tier() == KvTier.DISK);
            assertThat(second.core.kvSnapshot().hashes(KvTier.DISK)).isEqualTo(onDisk);
            second.add(greedy("again", turn.promptTokens(), 5));
            second.runToIdle();
            assertThat(second.tokens("again")).containsExactly(expected);
            assertThat(second.last("again").usage().cachedPromptTokens()).isEqualTo(28);
            assertThat(tier(second, KvTier.DISK).upBlocks()).isEqualTo(7);
            assertThat(tier(second, KvTier.DISK).droppedBlocks()).isZero();
            assertIdle(second);
            assertReplayMatches(log.events(), second.core.kvSnapshot());
        }
    }

    @Test
    void aCorruptBlockFileIsDetectedDroppedAndRecomputedNeverUsed() throws IOException {
        SplittableRandom rnd = new SplittableRandom(3);
        GenerateRequest turn = greedy("turn", randomPrompt(rnd, 30, VOCAB), 5);
        int[] expected = plain(turn);
        KvTierConfig tiers = new KvTierConfig(0, dir, 1 << 20);
        try (Harness first = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            first.add(turn);
            first.runToIdle();
        }
        long[] chain = new BlockHasher("checking").hashFullBlocks(null, turn.promptTokens(), 30, BLOCK);
        Path third = dir.resolve(String.format("%016x.kvb", chain[2]));
        try (RandomAccessFile f = new RandomAccessFile(third.toFile(), "rw")) {
            f.seek(f.length() - 20); // inside the K/V bytes: the header still parses, only the checksum can tell
            int b = f.read();
            f.seek(f.length() - 20);
            f.write(b ^ 0x40);
        }
        InMemoryKvEventLog log = new InMemoryKvEventLog();
        try (Harness second = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers), log)) {
            second.add(greedy("again", turn.promptTokens(), 5));
            second.runToIdle();
            // The checking runner would have failed the step had the corrupt block been imported and read.
            assertThat(second.tokens("again")).containsExactly(expected);
            assertThat(second.last("again").usage().cachedPromptTokens()).as("only the blocks before the corrupt one").isEqualTo(8);
            assertThat(tier(second, KvTier.DISK).droppedBlocks()).isEqualTo(1);
            assertThat(log.events()).anyMatch(e -> e instanceof KvEvent.BlockRemoved r && r.blockHash() == chain[2] && r.tier() == KvTier.DISK);
            // Recomputed from the corrupt block on, and that block cached again (a fresh, valid copy).
            assertThat(second.core.kvSnapshot().hashes(KvTier.DEVICE)).contains(chain[2]);
            assertIdle(second);
        }
        assertThat(third).exists(); // rewritten from the recomputed block
        try (Harness third2 = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            third2.add(greedy("once-more", turn.promptTokens(), 5));
            third2.runToIdle();
            assertThat(third2.tokens("once-more")).containsExactly(expected);
            assertThat(third2.last("once-more").usage().cachedPromptTokens()).isEqualTo(28);
        }
    }

    @Test
    void truncatedFilesAndFilesOfAnotherLayoutAreDroppedAtStart() throws IOException {
        KvTierConfig tiers = new KvTierConfig(0, dir, 1 << 20);
        try (Harness first = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            first.add(greedy("a", randomPrompt(new SplittableRandom(4), 30, VOCAB), 2));
            first.runToIdle();
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".kvb")).sorted().toList();
        }
        assertThat(files).hasSize(7);
        try (RandomAccessFile f = new RandomAccessFile(files.get(0).toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        Files.writeString(dir.resolve("00000000000000ff.kvb"), "not a block");
        try (Harness second = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            assertThat(second.core.kvSnapshot().hashes(KvTier.DISK)).hasSize(6);
            assertThat(tier(second, KvTier.DISK).droppedBlocks()).isEqualTo(2);
        }
        assertThat(files.get(0)).doesNotExist();
        // Another block size is another layout: every file is dropped, none misread.
        try (Harness other = new Harness(new CheckingRunner(VOCAB, 4096), Harness.config(8, 64, 8, 96).withKvTiers(tiers))) {
            assertThat(other.core.kvSnapshot().hashes(KvTier.DISK)).isEmpty();
            assertThat(tier(other, KvTier.DISK).droppedBlocks()).isEqualTo(6);
        }
    }

    @Test
    void aDiskDirectoryInUseByAnotherWorkerIsRefused() {
        KvTierConfig tiers = new KvTierConfig(0, dir, 1 << 20);
        try (Harness first = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers))) {
            assertThatThrownBy(() -> new Harness(new CheckingRunner(VOCAB, 4096), config(tiers)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("in use by another worker");
        }
        assertThatThrownBy(() -> new Harness(new CheckingRunner(VOCAB, 4096), config(new KvTierConfig(10, null, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--kv-host-memory");
        assertThatThrownBy(() -> new Harness(new ServingEngineTest.GatedRunner(), config(new KvTierConfig(1 << 20, null, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("copy KV blocks");
    }

    @Test
    void aRandomWorkloadOverSmallTiersNeverReadsWrongKvAndMatchesAWorkerWithoutTiers() {
        SplittableRandom rnd = new SplittableRandom(2026);
        int[][] prefixes = new int[5][];
        for (int i = 0; i < prefixes.length; i++) prefixes[i] = randomPrompt(rnd, 8 + rnd.nextInt(24), VOCAB);
        List<GenerateRequest> requests = new java.util.ArrayList<>();
        for (int i = 0; i < 80; i++) {
            int[] prompt = rnd.nextInt(4) == 0 ? randomPrompt(rnd, 1 + rnd.nextInt(30), VOCAB)
                    : Harness.concat(prefixes[rnd.nextInt(prefixes.length)], randomPrompt(rnd, rnd.nextInt(12), VOCAB));
            requests.add(new GenerateRequest("r" + i, prompt, SamplingParams.GREEDY,
                    new StopConditions(1 + rnd.nextInt(12), null, true, false), rnd.nextInt(2), rnd.nextInt(6) == 0 ? "tenant" : null));
        }
        Map<String, int[]> expected = new HashMap<>();
        for (GenerateRequest r : requests) expected.put(r.requestId(), plain(r));

        InMemoryKvEventLog log = new InMemoryKvEventLog();
        // 12 device blocks, 10 host slots, a few dozen disk files: every tier evicts, blocks spill from host to disk.
        KvTierConfig tiers = new KvTierConfig(10 * BLOCK_BYTES, dir, 20 * (BLOCK_BYTES + 200));
        try (Harness h = new Harness(new CheckingRunner(VOCAB, 4096), config(tiers), log)) {
            int next = 0;
            while (next < requests.size() || h.core.hasWork()) {
                int burst = rnd.nextInt(4);
                for (int i = 0; i < burst && next < requests.size(); i++) h.add(requests.get(next++));
                for (int s = rnd.nextInt(6); s > 0 && h.core.hasWork(); s--) h.core.step();
                if (next >= requests.size()) h.runToIdle();
            }
            for (GenerateRequest r : requests) assertThat(h.tokens(r.requestId())).as(r.requestId()).containsExactly(expected.get(r.requestId()));
            assertIdle(h);
            assertThat(tier(h, KvTier.HOST).upBlocks()).isPositive();
            assertThat(tier(h, KvTier.DISK).downBlocks()).isPositive();
            assertThat(log.events()).anyMatch(e -> e instanceof KvEvent.BlockRemoved r && r.tier() == KvTier.HOST);
            assertThat(log.events()).anyMatch(e -> e instanceof KvEvent.BlockRemoved r && r.tier() == KvTier.DISK);
            assertReplayMatches(log.events(), h.core.kvSnapshot());
            h.core.resetPrefixCache();
            assertThat(h.core.kvSnapshot().allHashes()).isEmpty();
        }
    }

    /** Replaying the events per tier gives exactly what the worker says it holds, with no gaps in the ids. */
    static void assertReplayMatches(List<KvEvent> events, KvCacheSnapshot snapshot) {
        assertThat(events).extracting(KvEvent::eventId)
                .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, events.size()).boxed().toList());
        assertThat(snapshot.lastEventId()).isEqualTo(events.size());
        Map<KvTier, Set<Long>> replayed = new HashMap<>();
        for (KvTier t : KvTier.values()) replayed.put(t, new HashSet<>());
        for (KvEvent e : events) {
            switch (e) {
                case KvEvent.BlockStored s -> assertThat(replayed.get(s.tier()).add(s.blockHash())).as("stored twice in " + s.tier()).isTrue();
                case KvEvent.BlockRemoved r -> assertThat(replayed.get(r.tier()).remove(r.blockHash())).as("removed from " + r.tier() + " but not there").isTrue();
                case KvEvent.AllBlocksCleared c -> replayed.values().forEach(Set::clear);
            }
        }
        for (KvTier t : KvTier.values()) assertThat(replayed.get(t)).as(t.toString()).isEqualTo(snapshot.hashes(t));
    }
}
