package ai.armature.cli;

import ai.armature.router.RouterConfig;
import ai.armature.router.policy.RoutingPolicy;
import picocli.CommandLine.Option;

/** The router's options, shared by the commands that route requests over workers ({@code serve}, {@code frontend}). */
final class RouterOptions {

    @Option(names = "--router",
            description = {"How requests are spread over workers: kv (cached prefix and load, the default with more than",
                    "one worker), round-robin, least-loaded, random, sglang-cache-aware, lmetric."})
    String policy;

    @Option(names = "--router-temperature", defaultValue = "0",
            description = "kv: 0 picks the cheapest worker; above 0 samples by softmax over normalized costs. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--router-prefill-weight", defaultValue = "" + RouterConfig.DEFAULT_PREFILL_WEIGHT,
            description = "kv: weight of prefill blocks against decode blocks in the cost. Default: ${DEFAULT-VALUE}.")
    double prefillWeight;

    @Option(names = "--router-queue-weight", defaultValue = "" + RouterConfig.DEFAULT_QUEUE_WEIGHT,
            description = "kv: weight of the prompt tokens already queued on a worker against decode blocks in the cost. Default: ${DEFAULT-VALUE}.")
    double queueWeight;

    @Option(names = "--router-busy-prefill-tokens", defaultValue = "" + RouterConfig.DEFAULT_BUSY_PREFILL_TOKENS,
            description = {"A worker with at least this many prompt tokens queued for prefill is busy; while every worker is",
                    "busy, requests wait at the router and go out as workers free up or join (oldest first, see",
                    "--router-lifo-after). 0: never wait.",
                    "Default: ${DEFAULT-VALUE}."})
    long busyPrefillTokens;

    @Option(names = "--router-max-waiting", defaultValue = "" + RouterConfig.DEFAULT_MAX_WAITING,
            description = "Requests that may wait at the router at once; more are refused (429). Default: ${DEFAULT-VALUE}.")
    int maxWaiting;

    @Option(names = "--router-wait-timeout", defaultValue = "60s", converter = DurationConverter.class,
            description = "A request waiting at the router longer than this ends with an error (0: no limit). Default: ${DEFAULT-VALUE}.")
    java.time.Duration waitTimeout;

    @Option(names = "--router-lifo-after", defaultValue = "0", converter = DurationConverter.class,
            description = {"While the oldest request waiting at the router has waited this long, the newest go first (adaptive LIFO:",
                    "they can still meet their first-token target, the oldest have missed it); the oldest go out once the backlog",
                    "is gone or time out. Set it to your TTFT target. 0: always oldest first. Default: ${DEFAULT-VALUE}."})
    java.time.Duration lifoAfter;

    /** Whether requests go through a router: more than one worker, or a policy asked for by name. */
    boolean enabled(int workers) {
        return workers > 1 || policy != null;
    }

    /** The router's configuration; checks the values (a bad one is a one-line error). */
    RouterConfig config() {
        String name = policy == null ? "kv" : policy;
        if (!RoutingPolicy.NAMES.contains(name)) {
            throw new IllegalArgumentException("--router must be one of " + String.join(", ", RoutingPolicy.NAMES) + ", got '" + policy + "'");
        }
        if (!"kv".equals(name) && (temperature != 0 || prefillWeight != RouterConfig.DEFAULT_PREFILL_WEIGHT
                || queueWeight != RouterConfig.DEFAULT_QUEUE_WEIGHT)) {
            throw new IllegalArgumentException("--router-temperature, --router-prefill-weight and --router-queue-weight apply to --router kv only");
        }
        return RouterConfig.defaults().withPolicy(name).withTemperature(temperature).withPrefillWeight(prefillWeight).withQueueWeight(queueWeight)
                .withBusyPrefillTokens(busyPrefillTokens).withMaxWaiting(maxWaiting).withWaitTimeout(waitTimeout)
                .withLifoAfter(lifoAfter);
    }
}
