package ai.armature.serving.mock;

/**
 * Virtual time for simulations: starts at 0 and moves only when a simulated step ends ({@link #sleepUntil}) or the
 * simulation advances it ({@link #advanceTo}). Never goes backwards. Thread-safe.
 */
public final class SimClock implements MockClock {

    private long now;

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    @Override
    public synchronized void sleepUntil(long deadlineNanos) {
        if (deadlineNanos > now) now = deadlineNanos;
    }

    /** Moves the clock forward to {@code nanos} (no-op if it is already later). */
    public void advanceTo(long nanos) {
        sleepUntil(nanos);
    }

    /** Moves the clock forward by {@code nanos}. */
    public synchronized void advance(long nanos) {
        if (nanos < 0) throw new IllegalArgumentException("time cannot go backwards: " + nanos);
        now += nanos;
    }

    /** The current virtual time in seconds. */
    public double seconds() {
        return nanoTime() / 1e9;
    }
}
