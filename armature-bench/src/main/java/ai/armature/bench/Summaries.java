package ai.armature.bench;

import java.util.Map;
import java.util.TreeMap;

/** Computes a {@link Summary} from a {@link RunResult}. */
public final class Summaries {

    private Summaries() {
    }

    /**
     * @param sloTtftSeconds TTFT objective for goodput, or a non-positive value for none
     * @param sloItlSeconds  mean-ITL objective for goodput, or a non-positive value for none
     */
    public static Summary of(RunResult run, double sloTtftSeconds, double sloItlSeconds) {
        LatencyStats.Builder ttft = new LatencyStats.Builder();
        LatencyStats.Builder itl = new LatencyStats.Builder();
        LatencyStats.Builder e2e = new LatencyStats.Builder();
        LatencyStats.Builder tpot = new LatencyStats.Builder();
        LatencyStats.Builder lag = new LatencyStats.Builder();
        Map<String, Long> errors = new TreeMap<>();
        long ok = 0;
        long good = 0;
        long in = 0;
        long out = 0;
        long withUsage = 0;
        long cachedPrompt = 0;
        long promptOfCached = 0;
        boolean anyCached = false;
        double reqPrompt = 0;
        double reqOut = 0;
        for (RequestRecord r : run.records()) {
            if (r.scheduledOffsetNanos() >= 0) {
                lag.record(r.startOffsetNanos() - r.scheduledOffsetNanos());
            }
            if (!r.ok()) {
                errors.merge(r.errorKey(), 1L, Long::sum);
                continue;
            }
            ok++;
            reqPrompt += r.requestedPromptTokens();
            reqOut += r.requestedOutputTokens();
            if (r.promptTokens() >= 0) {
                in += r.promptTokens();
                withUsage++;
            }
            out += r.outputTokens();
            if (r.cachedTokens() >= 0 && r.promptTokens() > 0) {
                anyCached = true;
                cachedPrompt += r.cachedTokens();
                promptOfCached += r.promptTokens();
            }
            if (r.ttftNanos() >= 0) {
                ttft.record(r.ttftNanos());
            }
            e2e.record(r.e2eNanos());
            for (int i = 0; i < r.chunkGapsNanos().length; i++) {
                itl.record(r.itlNanos(i));
            }
            long mean = r.meanItlNanos();
            if (mean >= 0) {
                tpot.record(mean);
            }
            boolean ttftOk = sloTtftSeconds <= 0 || (r.ttftNanos() >= 0 && r.ttftNanos() <= sloTtftSeconds * 1e9);
            boolean itlOk = sloItlSeconds <= 0 || mean < 0 || mean <= sloItlSeconds * 1e9;
            if (ttftOk && itlOk) {
                good++;
            }
        }
        double secs = run.durationNanos() / 1e9;
        double perSec = secs > 0 ? 1.0 / secs : 0;
        long total = run.records().size();
        return new Summary(run.shape().label(), total, ok, total - ok, secs, ok * perSec, out * perSec,
                (in + out) * perSec, in, out, good * perSec, good,
                sloTtftSeconds > 0 ? sloTtftSeconds : Double.NaN, sloItlSeconds > 0 ? sloItlSeconds : Double.NaN,
                ttft.build(), itl.build(), e2e.build(), tpot.build(), lag.build(), errors,
                anyCached ? (double) cachedPrompt / promptOfCached : Double.NaN,
                ok > 0 ? reqPrompt / ok : Double.NaN, withUsage > 0 ? (double) in / withUsage : Double.NaN,
                ok > 0 ? reqOut / ok : Double.NaN, ok > 0 ? (double) out / ok : Double.NaN, withUsage);
    }
}
