package ai.armature.router;

import java.time.Duration;
import java.util.Objects;
import java.util.UUID;

import ai.armature.router.policy.RoutingPolicy;

/**
 * A router's settings. {@code routerId}: unique among replicas (keys its load events). {@code policy}: see
 * {@link RoutingPolicy#NAMES}. {@code prefillWeight}, {@code queueWeight} and {@code temperature}: the kv policy's
 * cost weights of a request's own uncached prompt tokens and of the prompt tokens queued on a worker, and its softmax
 * temperature ({@code --router-prefill-weight}, {@code --router-queue-weight}, {@code --router-temperature}); {@code costUnitTokens}: the
 * block size costs are counted in. {@code approxTtl} and {@code approxMaxBlocks}: how long, and how many blocks, an
 * approximate worker is believed to hold what it was sent (until its load report gives its real cache size).
 * {@code peerTtl}: a replica silent this long is presumed gone; {@code heartbeatInterval}: how often this router says
 * it is alive. {@code seed}: ties and sampling. {@code busyPrefillTokens}: a worker with at least this many prompt
 * tokens queued for prefill is busy, and while every worker a request may go to is busy the request waits at the
 * router, at most {@code maxWaiting} of them and each at most {@code waitTimeout} (zero: no limit); 0 turns the wait
 * off ({@code --router-busy-prefill-tokens}, {@code --router-max-waiting}, {@code --router-wait-timeout}). Waiting
 * requests go out oldest first, but newest first while the oldest has waited {@code lifoAfter} or more (adaptive
 * LIFO, {@code --router-lifo-after}; zero: always oldest first): a backlog that old has already missed its
 * first-token target, and the newest requests still can meet theirs.
 *
 * <p>Pending prefixes have no setting: a prompt routed to a worker that publishes KV events counts as held there
 * until its events store it, its requests end or {@code approxTtl} passes ({@code KvIndexer#recordPending}), so
 * requests with the same new prefix arriving before those events follow the first. In {@code armature simulate}
 * (16 workers, the shared-prefix workload at 1,024 requests/s) that took kv's TTFT p50 / p99 from 87 / 146 ms to
 * 12 / 44 ms (round robin 141 / 253 ms) and prefix hits from 43% to 82%; at light load and on the Mooncake trace
 * (turns seconds apart) it changed nothing beyond 3% (figures in the README's routing section).
 */
public record RouterConfig(
        String routerId,
        String policy,
        double prefillWeight,
        double queueWeight,
        double temperature,
        int costUnitTokens,
        Duration approxTtl,
        long approxMaxBlocks,
        Duration peerTtl,
        Duration heartbeatInterval,
        long seed,
        long busyPrefillTokens,
        int maxWaiting,
        Duration waitTimeout,
        Duration lifoAfter) {

    /**
     * The kv policy's prefill weight, chosen by {@code armature simulate} on the Mooncake conversation trace with the
     * queue weight {@link #DEFAULT_QUEUE_WEIGHT}. The decode term's weight is 1, so raising both weights together weighs
     * a worker's running context less against prefill: against 16 and 8 (the previous defaults) 128 and 32 lowered kv's
     * TTFT p50 at 128 workers and speedup 48 from 0.238 to 0.184 s (round robin 2.041 s), at 16 workers and speedup 6
     * (overloaded) from 0.610 to 0.327 s, at speedup 2 from 0.210 to 0.188 s, with 33% of prompt tokens hit at 128
     * workers against 29% (figures in the README's routing section).
     */
    public static final double DEFAULT_PREFILL_WEIGHT = 128.0;
    /**
     * The kv policy's weight of the prompt tokens queued on a worker (see {@link ai.armature.router.policy.Cost}): a
     * quarter of the prefill weight, so a request leaves its cached prefix for a shorter queue only when that queue is
     * much shorter. With the queued prefill weighed as much as the request's own uncached prompt an overloaded fleet
     * (16 workers, speedup 6) sent requests away from their cache: TTFT p50 6.35 s against 0.61 s at half the weight
     * and 0.39 s at a quarter (prefill weight 16); see {@link #DEFAULT_PREFILL_WEIGHT}.
     */
    public static final double DEFAULT_QUEUE_WEIGHT = 32.0;
    public static final double DEFAULT_TEMPERATURE = 0.0;
    public static final long DEFAULT_BUSY_PREFILL_TOKENS = 0;
    public static final int DEFAULT_MAX_WAITING = 100_000;
    public static final Duration DEFAULT_WAIT_TIMEOUT = Duration.ofSeconds(60);
    /**
     * Zero: waiting requests go out oldest first whatever their wait (see {@link #lifoAfter}). The bound to give is the
     * service's TTFT target, which the router does not know: a bound far below it (0.5 s for a 10 s target) jumps
     * requests that could still meet it, and in simulation made attainment worse ({@code armature simulate} takes its
     * {@code --ttft-slo}).
     */
    public static final Duration DEFAULT_LIFO_AFTER = Duration.ZERO;
    public static final Duration DEFAULT_APPROX_TTL = Duration.ofSeconds(120);
    public static final long DEFAULT_APPROX_MAX_BLOCKS = 1L << 20;

    public RouterConfig {
        Objects.requireNonNull(routerId, "routerId");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(approxTtl, "approxTtl");
        Objects.requireNonNull(peerTtl, "peerTtl");
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        if (!RoutingPolicy.NAMES.contains(policy)) {
            throw new IllegalArgumentException("unknown router policy '" + policy + "': use one of " + String.join(", ", RoutingPolicy.NAMES));
        }
        if (!(prefillWeight >= 0) || Double.isInfinite(prefillWeight)) {
            throw new IllegalArgumentException("--router-prefill-weight must be a number >= 0, got " + prefillWeight);
        }
        if (!(queueWeight >= 0) || Double.isInfinite(queueWeight)) {
            throw new IllegalArgumentException("--router-queue-weight must be a number >= 0, got " + queueWeight);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--router-temperature must be a number >= 0, got " + temperature);
        }
        if (costUnitTokens < 1) throw new IllegalArgumentException("the cost unit must be >= 1 token");
        if (approxTtl.isNegative() || approxTtl.isZero()) throw new IllegalArgumentException("the approximate-mode TTL must be > 0");
        if (approxMaxBlocks < 1) throw new IllegalArgumentException("the approximate-mode size bound must be >= 1 block");
        Objects.requireNonNull(waitTimeout, "waitTimeout");
        if (busyPrefillTokens < 0) throw new IllegalArgumentException("--router-busy-prefill-tokens must be >= 0 (0: off), got " + busyPrefillTokens);
        if (maxWaiting < 1) throw new IllegalArgumentException("--router-max-waiting must be >= 1, got " + maxWaiting);
        Objects.requireNonNull(lifoAfter, "lifoAfter");
        if (lifoAfter.isNegative()) throw new IllegalArgumentException("--router-lifo-after must be >= 0 (0: always oldest first)");
        if (waitTimeout.isNegative()) throw new IllegalArgumentException("--router-wait-timeout must be >= 0 (0: no limit)");
        if (peerTtl.compareTo(heartbeatInterval) <= 0) throw new IllegalArgumentException("the peer TTL must exceed the heartbeat interval");
    }

    /** The kv policy with default settings and a random router id. */
    public static RouterConfig defaults() {
        return new RouterConfig("router-" + UUID.randomUUID(), "kv", DEFAULT_PREFILL_WEIGHT, DEFAULT_QUEUE_WEIGHT, DEFAULT_TEMPERATURE, 16,
                DEFAULT_APPROX_TTL, DEFAULT_APPROX_MAX_BLOCKS, Duration.ofSeconds(5), Duration.ofSeconds(1), 1,
                DEFAULT_BUSY_PREFILL_TOKENS, DEFAULT_MAX_WAITING, DEFAULT_WAIT_TIMEOUT, DEFAULT_LIFO_AFTER);
    }

    public RouterConfig withRouterId(String v) {
        return new RouterConfig(v, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withPolicy(String v) {
        return new RouterConfig(routerId, v, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withPrefillWeight(double v) {
        return new RouterConfig(routerId, policy, v, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withQueueWeight(double v) {
        return new RouterConfig(routerId, policy, prefillWeight, v, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withTemperature(double v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, v, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withApproxTtl(Duration v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, v, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withApproxMaxBlocks(long v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, v, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withPeerTtl(Duration v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, v, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withSeed(long v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, v, busyPrefillTokens, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withBusyPrefillTokens(long v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, v, maxWaiting, waitTimeout, lifoAfter);
    }

    public RouterConfig withMaxWaiting(int v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, v, waitTimeout, lifoAfter);
    }

    public RouterConfig withWaitTimeout(Duration v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, v, lifoAfter);
    }

    public RouterConfig withLifoAfter(Duration v) {
        return new RouterConfig(routerId, policy, prefillWeight, queueWeight, temperature, costUnitTokens, approxTtl, approxMaxBlocks, peerTtl, heartbeatInterval, seed, busyPrefillTokens, maxWaiting, waitTimeout, v);
    }
}
