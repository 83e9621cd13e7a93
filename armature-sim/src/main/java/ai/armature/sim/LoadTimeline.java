package ai.armature.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How busy the workers were over time: sampled at fixed virtual intervals, each worker's share of the interval spent
 * in steps. Few workers keep one series each; many keep the least busy, median and busiest worker per sample.
 */
final class LoadTimeline {

    /** Workers up to which each gets its own series. */
    static final int PER_WORKER_LIMIT = 16;

    final List<Double> times = new ArrayList<>();
    final List<double[]> samples = new ArrayList<>();
    private double[] lastBusy = new double[0];
    private long lastTime;
    boolean perWorker;

    /** Records the interval ending at {@code now} from each worker's cumulative busy seconds. */
    void sample(long now, double[] busySeconds) {
        double interval = (now - lastTime) / 1e9;
        if (interval <= 0) return;
        if (lastBusy.length < busySeconds.length) lastBusy = Arrays.copyOf(lastBusy, busySeconds.length);
        double[] load = new double[busySeconds.length];
        for (int i = 0; i < load.length; i++) load[i] = Math.min(1, (busySeconds[i] - lastBusy[i]) / interval);
        System.arraycopy(busySeconds, 0, lastBusy, 0, busySeconds.length);
        lastTime = now;
        perWorker = load.length <= PER_WORKER_LIMIT;
        times.add(now / 1e9);
        if (perWorker) {
            samples.add(load);
        } else {
            double[] sorted = load.clone();
            Arrays.sort(sorted);
            samples.add(new double[] {sorted[0], sorted[sorted.length / 2], sorted[sorted.length - 1]});
        }
    }
}
