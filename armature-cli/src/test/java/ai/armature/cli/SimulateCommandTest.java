package ai.armature.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code armature simulate} and {@code armature bench router} as a user runs them (small sizes). */
class SimulateCommandTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = ArmatureCli.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(out, true));
        return cl.execute(args);
    }

    private static final String[] SMALL = {"simulate", "--workload", "shared-prefix", "--workers", "3", "--groups", "3",
            "--prompts-per-group", "4", "--prefix-len", "512", "--question-len", "32", "--osl", "8", "--request-rate", "20",
            "--mock-profile", "h100-llama3-8b,kv_cache=1GiB"};

    private String[] with(String... more) {
        String[] all = java.util.Arrays.copyOf(SMALL, SMALL.length + more.length);
        System.arraycopy(more, 0, all, SMALL.length, more.length);
        return all;
    }

    @Test
    void printsOneJsonObjectWithAResultPerPolicy() throws Exception {
        assertThat(run(with("--router", "kv,round-robin", "--json"))).as(err.toString()).isZero();
        JsonNode doc = new ObjectMapper().readTree(out.toString());
        assertThat(doc.get("results")).hasSize(2);
        JsonNode kv = doc.get("results").get(0);
        assertThat(kv.get("router").asText()).isEqualTo("kv");
        assertThat(kv.get("requests").asLong()).isEqualTo(12);
        for (String f : new String[] {"ttft_p50_s", "ttft_p99_s", "itl_p50_s", "itl_p99_s", "output_tokens_per_s", "prefix_hit_rate"}) {
            assertThat(kv.has(f)).as(f).isTrue();
        }
        assertThat(kv.get("prefix_hit_rate").asDouble()).isGreaterThan(doc.get("results").get(1).get("prefix_hit_rate").asDouble());
        assertThat(err.toString()).contains("wall time");
        assertThat(doc.get("settings").get("router_lifo_after_seconds").asDouble()).as("the --ttft-slo by default")
                .isEqualTo(doc.get("settings").get("ttft_slo").asDouble());
    }

    @Test
    void writesResultsAndPlotsAndRepeatsItself(@TempDir Path dir) throws Exception {
        assertThat(run(with("--router", "kv,least-loaded", "--out", dir.toString()))).as(err.toString()).isZero();
        assertThat(out.toString()).contains("router").contains("kv").contains("least-loaded").contains("TTFT p50");
        assertThat(dir.resolve("results.json")).exists();
        assertThat(dir.resolve("ttft-cdf.png")).exists();
        assertThat(dir.resolve("load-kv.png")).exists();
        assertThat(dir.resolve("load-least-loaded.png")).exists();
        String first = Files.readString(dir.resolve("results.json"));
        assertThat(run(with("--router", "kv,least-loaded", "--out", dir.toString()))).isZero();
        assertThat(Files.readString(dir.resolve("results.json"))).as("deterministic").isEqualTo(first);
    }

    /**
     * A simulated worker is the worker that is served: simulate's worker options default to serve's and worker's, and
     * its router waits at most as long as serve's and frontend's ({@code --router-wait-timeout}).
     */
    @Test
    void simulatedWorkersAndRouterDefaultToTheServedOnes() {
        CommandLine cli = ArmatureCli.commandLine();
        var simulate = cli.getSubcommands().get("simulate").getCommandSpec();
        for (String served : new String[] {"serve", "worker", "frontend"}) {
            var spec = cli.getSubcommands().get(served).getCommandSpec();
            for (String option : new String[] {"--max-batched-tokens", "--max-seqs", "--block-size", "--router-wait-timeout"}) {
                if (spec.findOption(option) == null) continue;
                assertThat(simulate.findOption(option).defaultValue()).as("%s %s", served, option).isEqualTo(spec.findOption(option).defaultValue());
            }
        }
        assertThat(simulate.findOption("--max-batched-tokens").defaultValue()).isEqualTo("512");
        assertThat(simulate.findOption("--router-wait-timeout").defaultValue()).isEqualTo("60s");
    }

    @Test
    void badInputIsAOneLineError(@TempDir Path dir) {
        assertThat(run(with("--router", "fastest"))).isEqualTo(1);
        assertThat(err.toString()).contains("unknown policy 'fastest'").doesNotContain("Exception");
        assertThat(run("simulate", "--trace", dir.resolve("missing.jsonl").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("no such file");
        assertThat(run("simulate", "--workers", "2")).isEqualTo(1);
        assertThat(err.toString()).contains("give --trace FILE");
        assertThat(run(with("--router-lifo-after", "-1s"))).isEqualTo(1);
        assertThat(err.toString()).contains("--router-lifo-after must be >= 0");
    }

    @Test
    void simulatesPrefillAndDecodeWorkersAndRefusesWhatDoesNotApply() throws Exception {
        String[] disagg = {"simulate", "--workload", "shared-prefix", "--groups", "2", "--prompts-per-group", "3", "--prefix-len", "1024",
                "--question-len", "600", "--osl", "8", "--request-rate", "20", "--mock-profile", "h100-llama3-8b,kv_cache=1GiB",
                "--router", "kv", "--prefill-workers", "1", "--decode-workers", "2", "--max-local-prefill-tokens", "512"};
        String[] json = java.util.Arrays.copyOf(disagg, disagg.length + 1);
        json[disagg.length] = "--json";
        assertThat(run(json)).as(err.toString()).isZero();
        JsonNode doc = new ObjectMapper().readTree(out.toString());
        JsonNode r = doc.get("results").get(0);
        assertThat(r.get("workers").asInt()).isEqualTo(3);
        assertThat(r.get("prefill_workers").asInt()).isEqualTo(1);
        assertThat(r.get("remote_prefills").asLong() + r.get("local_prefills").asLong()).isEqualTo(6);
        assertThat(r.get("remote_prefills").asLong()).isPositive();
        assertThat(r.get("kv_transfer_bytes").asLong()).isPositive();
        assertThat(doc.get("settings").get("transfer_bandwidth_gb_per_s").asDouble()).isEqualTo(50);
        out.getBuffer().setLength(0);
        assertThat(run(disagg)).as(err.toString()).isZero();
        assertThat(out.toString()).contains("1P+2D").contains("out tok/s/wkr");

        assertThat(run(with("--transfer-bandwidth", "10"))).isEqualTo(1);
        assertThat(err.toString()).contains("--transfer-bandwidth applies with --prefill-workers and --decode-workers");
        assertThat(run(with("--max-local-prefill-tokens", "10"))).isEqualTo(1);
        assertThat(err.toString()).contains("--max-local-prefill-tokens applies with --prefill-workers");
        assertThat(run(with("--prefill-workers", "1", "--decode-workers", "2"))).isEqualTo(1);
        assertThat(err.toString()).contains("--workers does not apply");
        assertThat(run("simulate", "--workload", "shared-prefix", "--prefill-workers", "1")).isEqualTo(1);
        assertThat(err.toString()).contains("needs both --prefill-workers and --decode-workers");
        assertThat(run("simulate", "--workload", "shared-prefix", "--prefill-workers", "1", "--decode-workers", "1", "--planner", "sla")).isEqualTo(1);
        assertThat(err.toString()).contains("does not apply with --prefill-workers");
        assertThat(run("simulate", "--workload", "shared-prefix", "--prefill-workers", "1", "--decode-workers", "1", "--transfer-bandwidth", "0")).isEqualTo(1);
        assertThat(err.toString()).contains("--transfer-bandwidth must be a positive number");
    }

    @Test
    void benchRouterReportsEveryFigure() throws Exception {
        assertThat(run("bench", "router", "--workers", "8", "--blocks-per-worker", "256", "--decisions", "2000",
                "--resync-blocks", "1000", "--popular-docs", "10", "--json")).as(err.toString()).isZero();
        JsonNode r = new ObjectMapper().readTree(out.toString());
        assertThat(r.get("entries").asLong()).isEqualTo(8 * 256);
        for (String f : new String[] {"ingest_events_per_second", "index_bytes_per_entry", "decision_p99_micros", "resync_seconds"}) {
            assertThat(r.get(f).asDouble()).as(f).isPositive();
        }
    }
}
