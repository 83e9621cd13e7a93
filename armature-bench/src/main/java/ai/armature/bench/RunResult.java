package ai.armature.bench;

import java.util.List;

/**
 * The raw outcome of one run at one load point: every request in start order, and the measured window.
 *
 * @param startEpochMillis wall-clock start, for reports
 * @param durationNanos    from the run's start to the end of its last request
 */
public record RunResult(LoadShape shape, long startEpochMillis, long durationNanos, List<RequestRecord> records) {
}
