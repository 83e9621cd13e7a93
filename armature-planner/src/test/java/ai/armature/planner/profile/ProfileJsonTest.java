package ai.armature.planner.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfileJsonTest {

    static PerformanceProfile sample() {
        return new PerformanceProfile("mock:test", "virtual", new PerformanceProfile.Limits(512, 64, 16, 100_000, 8192),
                List.of(new PerformanceProfile.PrefillPoint(16, 0.006), new PerformanceProfile.PrefillPoint(1024, 0.04)),
                new PerformanceProfile.DecodeGrid(new int[] {1, 8}, new int[] {128, 4096},
                        new double[][] {{0.0063, 0.0065}, {0.0064, Double.NaN}}));
    }

    @Test
    void roundTripsWithUnmeasuredCellsAsNull(@TempDir Path dir) throws Exception {
        PerformanceProfile p = sample();
        String json = ProfileJson.toJson(p);
        assertThat(json).contains("\"format\" : \"armature-profile-v1\"").contains("null").contains("\"tokens_per_second\"");
        Path f = dir.resolve("sub/profile.json");
        ProfileJson.write(p, f);
        assertThat(ProfileJson.read(f)).isEqualTo(p);
    }

    @Test
    void badFilesNameWhatIsWrong(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> ProfileJson.read(dir.resolve("none.json"))).hasMessageContaining("does not exist")
                .hasMessageContaining("armature profile");
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{not json");
        assertThatThrownBy(() -> ProfileJson.read(f)).hasMessageContaining("bad.json").hasMessageContaining("not valid JSON");
        String good = ProfileJson.toJson(sample());
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("armature-profile-v1", "v9"))).hasMessageContaining("format is 'v9'");
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("\"max_seqs\"", "\"maxseqs\""))).hasMessageContaining("missing field 'max_seqs'");
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("0.006,", "-1,"))).hasMessageContaining("must be > 0 seconds");
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("\"input_tokens\" : 1024", "\"input_tokens\" : 8")))
                .hasMessageContaining("increasing input lengths");
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("\"batch_sizes\" : [ 1, 8 ]", "\"batch_sizes\" : [ 8, 1 ]")))
                .hasMessageContaining("must increase");
        assertThatThrownBy(() -> ProfileJson.fromJson(good.replace("\"max_seqs\" : 64", "\"max_seqs\" : \"x\"")))
                .hasMessageContaining("'max_seqs' must be an integer");
        assertThatThrownBy(() -> ProfileJson.fromJson("[]")).hasMessageContaining("expected a JSON object");
    }

    @Test
    void aGridWithoutAnyMeasurementIsRefused() {
        assertThatThrownBy(() -> new PerformanceProfile.DecodeGrid(new int[] {1}, new int[] {64}, new double[][] {{Double.NaN}}))
                .hasMessageContaining("no measured point");
        assertThatThrownBy(() -> new PerformanceProfile.DecodeGrid(new int[] {1, 2}, new int[] {64}, new double[][] {{0.1}}))
                .hasMessageContaining("2 batch sizes");
    }
}
