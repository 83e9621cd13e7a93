package ai.armature.planner.model;

/**
 * How much slower (&gt; 1) or faster (&lt; 1) the workers run than their profile says, learned from observed
 * latencies: {@code prefill} scales prefill times, {@code decode} decode step times. 1 and 1 trust the profile.
 */
public record Corrections(double prefill, double decode) {

    /** The range a correction is kept in: outside it the profile is wrong, not the traffic. */
    public static final double MIN = 0.5, MAX = 3;

    public static final Corrections NONE = new Corrections(1, 1);

    public Corrections {
        prefill = Math.clamp(prefill, MIN, MAX);
        decode = Math.clamp(decode, MIN, MAX);
    }

    public Corrections withPrefill(double k) {
        return new Corrections(k, decode);
    }

    public Corrections withDecode(double k) {
        return new Corrections(prefill, k);
    }
}
