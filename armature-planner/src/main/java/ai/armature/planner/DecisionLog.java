package ai.armature.planner;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import ai.armature.protocol.TrafficCounters;

/**
 * The planner's decisions as JSON lines ({@code --timeline FILE}), one per pool per interval: the time, the pool's
 * workers by state, the observed rate, TTFT and ITL means and the share within the targets, the forecast, the
 * target and why, and the prediction behind it. For plots and post-mortems. Thread-safe.
 */
public final class DecisionLog implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    public DecisionLog(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** The JSON object of one decision, the pool's fleet after it and the targets. */
    public static ObjectNode json(Decision d, PoolFleet fleet, PlannerConfig config) {
        ObjectNode o = JSON.createObjectNode();
        o.put("time_s", d.timeSeconds());
        o.put("pool", d.pool().roleName());
        o.put("serving", fleet.serving());
        o.put("starting", fleet.starting());
        o.put("draining", fleet.draining());
        o.put("current", d.current());
        o.put("target", d.target());
        o.put("reason", d.reason().name().toLowerCase(java.util.Locale.ROOT));
        number(o, "observed_rate", d.observedRate());
        number(o, "forecast_rate", d.forecastRate());
        PoolObservation obs = d.observed();
        if (obs != null) {
            TrafficCounters t = obs.traffic();
            o.put("requests", t.requests());
            o.put("held", obs.heldRequests());
            number(o, "ttft_mean_s", t.meanTtftSeconds());
            number(o, "itl_mean_s", t.meanItlSeconds());
            number(o, "ttft_within_slo", t.ttftWithin(config.slo().ttftSeconds()));
            number(o, "itl_within_slo", t.itlWithin(config.slo().itlSeconds()));
            number(o, "running_per_worker", obs.runningPerWorker());
            number(o, "waiting_per_worker", obs.waitingPerWorker());
            number(o, "kv_usage", obs.kvUsage());
        }
        if (d.predicted() != null && d.predicted().feasible()) {
            o.put("predicted_ttft_s", d.predicted().ttft());
            o.put("predicted_itl_s", d.predicted().itl());
        }
        if (d.corrections() != null) {
            o.put("correction_prefill", d.corrections().prefill());
            o.put("correction_decode", d.corrections().decode());
        }
        return o;
    }

    private static void number(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) o.put(key, v);
    }

    public synchronized void write(Decision d, PoolFleet fleet, PlannerConfig config) throws IOException {
        out.write(JSON.writeValueAsString(json(d, fleet, config)));
        out.newLine();
        out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
