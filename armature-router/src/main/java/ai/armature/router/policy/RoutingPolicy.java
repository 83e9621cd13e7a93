package ai.armature.router.policy;

import java.util.List;
import java.util.Locale;

import ai.armature.router.RouterConfig;

/**
 * How the router picks a worker among the candidates of a request. Implementations are the closed set below, by
 * name: {@code kv} (the cost function over the KV indexer and load; the default with more than one worker),
 * {@code round-robin}, {@code random}, {@code least-loaded}, and, to compare against in simulation,
 * {@code sglang-cache-aware} and {@code lmetric}. Called under the router's lock, one decision at a time.
 */
public sealed interface RoutingPolicy
        permits KvPolicy, RoundRobinPolicy, RandomPolicy, LeastLoadedPolicy, SglangCacheAwarePolicy, LMetricPolicy {

    /** Every policy name, as {@code --router} takes them. */
    List<String> NAMES = List.of("kv", "round-robin", "random", "least-loaded", "sglang-cache-aware", "lmetric");

    /** The policy's name (as {@code --router} takes it). */
    String name();

    /** Whether the router must compute each candidate's cached prefix from its KV indexer before {@link #select}. */
    boolean usesIndexer();

    /** The index of the chosen candidate (there is at least one). */
    int select(Candidates candidates);

    /** Called after candidate {@code chosen} was picked and booked, at router time {@code now} (nanoseconds). */
    default void routed(Candidates candidates, int chosen, long now) {
    }

    /** A worker joined the router (policies with their own per-worker state track it). */
    default void workerAdded(String workerId, int blockSize, String namespace) {
    }

    /** A worker left the router. */
    default void workerRemoved(String workerId) {
    }

    /** Periodic maintenance at router time {@code now}. */
    default void tick(long now) {
    }

    /** The policy called {@code name}, configured from {@code config}. */
    static RoutingPolicy create(String name, RouterConfig config) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "kv" -> new KvPolicy(new Cost(config.prefillWeight(), config.queueWeight()), config.temperature(), config.costUnitTokens());
            case "round-robin" -> new RoundRobinPolicy();
            case "random" -> new RandomPolicy();
            case "least-loaded" -> new LeastLoadedPolicy();
            case "sglang-cache-aware" -> new SglangCacheAwarePolicy(SglangCacheAwarePolicy.Settings.DEFAULTS);
            case "lmetric" -> new LMetricPolicy();
            default -> throw new IllegalArgumentException("unknown router policy '" + name + "': use one of " + String.join(", ", NAMES));
        };
    }
}
