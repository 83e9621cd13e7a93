package ai.armature.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Manual benchmark of the load generator's own precision (not a test; never asserted): how far its TTFT, chunk
 * gaps and E2E are from what a local fake server recorded, and how late Poisson arrivals leave. Figures depend on
 * the machine and its load. Run after {@code ./armature test -pl armature-bench -am -DskipTests} (or any build):
 * <pre>
 * java -cp "armature-bench/target/classes:armature-bench/target/test-classes:$(cat cp.txt)" ai.armature.bench.ClientTimingBench
 * </pre>
 * where {@code cp.txt} holds the module's class path ({@code mvn -pl armature-bench dependency:build-classpath
 * -Dmdep.outputFile=cp.txt}).
 */
public final class ClientTimingBench {

    private static final long MS = 1_000_000L;

    private ClientTimingBench() {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 24;
        try (FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(40 * MS, 8 * MS, 16));
             OpenAiClient client = BenchTestSupport.client(server, Duration.ofSeconds(30))) {
            BenchTestSupport.warm(client);
            Workload w = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), requests);
            RunResult run = new LoadRunner(client, null, ProgressListener.NONE).run(w, new LoadShape.Closed(2), -1, -1);
            List<Long> ttft = new ArrayList<>(), gaps = new ArrayList<>(), e2e = new ArrayList<>();
            for (RequestRecord r : run.records()) {
                FakeOpenAiServer.Seen s = server.seen().stream()
                        .filter(x -> x.index() > 0 && x.body().path("prompt").asText().equals(prompt(r, requests)))
                        .findFirst().orElseThrow();
                ttft.add(r.ttftNanos() - (s.chunkNanos().getFirst() - s.arrivalNanos()));
                e2e.add(r.e2eNanos() - (s.chunkNanos().getLast() - s.arrivalNanos()));
                for (int i = 0; i + 1 < s.chunkNanos().size() && i < r.chunkGapsNanos().length; i++) {
                    gaps.add(Math.abs(r.itlNanos(i) - (s.chunkNanos().get(i + 1) - s.chunkNanos().get(i))));
                }
            }
            print("client - server TTFT", ttft);
            print("|client - server chunk gap|", gaps);
            print("client - server E2E", e2e);

            Workload poisson = new SyntheticWorkload(1, 8, 0, 2, 0, PromptText.uncalibrated(), requests);
            RunResult open = new LoadRunner(client, null, ProgressListener.NONE).run(poisson, new LoadShape.Poisson(100, 7), -1, -1);
            List<Long> lags = new ArrayList<>();
            for (RequestRecord r : open.records()) lags.add(r.startOffsetNanos() - r.scheduledOffsetNanos());
            print("Poisson send lag behind schedule", lags);
        }
    }

    private static String prompt(RequestRecord r, int requests) {
        SyntheticWorkload copy = new SyntheticWorkload(1, 16, 0, 16, 0, PromptText.uncalibrated(), requests);
        for (Conversation c = copy.next(); c != null; c = copy.next()) {
            RequestSpec spec = c.next(null);
            if (spec.tag().equals(r.tag())) return spec.prompt();
        }
        throw new IllegalStateException("no prompt for " + r.tag());
    }

    private static void print(String what, List<Long> nanos) {
        List<Long> sorted = new ArrayList<>(nanos);
        sorted.sort(null);
        System.out.printf(Locale.ROOT, "%-34s n=%d  min %.3f ms  p50 %.3f ms  p90 %.3f ms  max %.3f ms%n", what, sorted.size(),
                sorted.getFirst() / 1e6, sorted.get(sorted.size() / 2) / 1e6, sorted.get(sorted.size() * 9 / 10) / 1e6,
                sorted.getLast() / 1e6);
    }
}
