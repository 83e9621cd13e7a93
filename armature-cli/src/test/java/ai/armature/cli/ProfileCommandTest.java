package ai.armature.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.armature.planner.profile.PerformanceProfile;
import ai.armature.planner.profile.ProfileJson;

/** armature profile: the mocker on its virtual clock, and real steps of a tiny generated model. */
class ProfileCommandTest {

    @TempDir
    Path dir;

    @Test
    void profilesTheMockerToStandardOutput() {
        CliRun r = CliRun.of("profile", "--mock-profile", "h100-llama3-8b,kv_cache=1GiB", "--input-lengths", "64,512,2048",
                "--batch-sizes", "1,4", "--context-lengths", "256,1024", "--max-seqs", "32");
        assertThat(r.exit()).as(r.err()).isZero();
        PerformanceProfile p = ProfileJson.fromJson(r.out());
        assertThat(p.clock()).isEqualTo("virtual");
        assertThat(p.limits().maxSeqs()).isEqualTo(32);
        assertThat(p.limits().kvCacheTokens()).isEqualTo((1L << 30) / 131072);
        assertThat(p.prefill()).hasSize(3);
        assertThat(p.prefill().get(2).seconds()).isGreaterThan(p.prefill().get(0).seconds());
        assertThat(p.decode().at(1, 1)).isGreaterThan(p.decode().at(0, 0));
        assertThat(r.err()).contains("decode batch 4, context 1024");
    }

    @Test
    void profilesARealModelWithRealSteps() {
        Path model = dir.resolve("tiny.gguf");
        assertThat(CliRun.of("demo-model", "--preset", "tiny", "--out", model.toString()).exit()).isZero();
        Path out = dir.resolve("profile.json");
        CliRun r = CliRun.of("profile", "--model", model.toString(), "--out", out.toString(), "--input-lengths", "16,64",
                "--batch-sizes", "1,2", "--context-lengths", "32,64", "--repeats", "1", "--warmups", "1", "--decode-steps", "2",
                "--kv-cache-memory", "8MiB", "--quiet");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("armature: prefill");
        PerformanceProfile p = ProfileJson.read(out);
        assertThat(p.clock()).isEqualTo("real");
        assertThat(p.source()).isEqualTo("tiny.gguf");
        assertThat(p.prefill()).extracting(PerformanceProfile.PrefillPoint::inputTokens).containsExactly(16, 64);
        assertThat(p.decode().contextTokens()).containsExactly(32, 64);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) assertThat(p.decode().at(i, j)).isPositive();
    }

    @Test
    void needsExactlyOneTarget() {
        CliRun r = CliRun.of("profile");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--model").contains("--mock-profile");
        r = CliRun.of("profile", "--mock-profile", "nope");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("unknown mock profile 'nope'");
    }
}
