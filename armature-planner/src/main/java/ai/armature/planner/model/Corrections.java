package ai.armature.planner.model;

/**
 * How the workers differ from what their profile and the queueing model say, learned from what they delivered:
 * {@code prefill} and {@code decode} scale the profile's prefill and decode step times (slower &gt; 1, faster &lt; 1),
 * {@code waitTail} scales the predicted share of requests that wait past the TTFT target (bursty arrivals and
 * head-of-line blocking behind long prompts make more wait long than an M/G/N queue says), and {@code itlTail} the
 * predicted share whose mean inter-token latency misses its target. All 1 trust the model.
 */
public record Corrections(double prefill, double decode, double waitTail, double itlTail) {

    /** The range a speed correction is kept in: outside it the profile is wrong, not the traffic. */
    public static final double MIN = 0.5, MAX = 3;
    /** The range of the wait-tail correction. */
    public static final double TAIL_MIN = 0.5, TAIL_MAX = 20;

    public static final Corrections NONE = new Corrections(1, 1, 1, 1);

    public Corrections {
        prefill = Math.clamp(prefill, MIN, MAX);
        decode = Math.clamp(decode, MIN, MAX);
        waitTail = Math.clamp(waitTail, TAIL_MIN, TAIL_MAX);
        itlTail = Math.clamp(itlTail, TAIL_MIN, TAIL_MAX);
    }

    public Corrections(double prefill, double decode) {
        this(prefill, decode, 1, 1);
    }

    public Corrections withPrefill(double k) {
        return new Corrections(k, decode, waitTail, itlTail);
    }

    public Corrections withDecode(double k) {
        return new Corrections(prefill, k, waitTail, itlTail);
    }

    public Corrections withWaitTail(double k) {
        return new Corrections(prefill, decode, k, itlTail);
    }

    public Corrections withItlTail(double k) {
        return new Corrections(prefill, decode, waitTail, k);
    }
}
