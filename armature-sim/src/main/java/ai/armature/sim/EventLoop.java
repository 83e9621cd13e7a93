package ai.armature.sim;

import java.util.PriorityQueue;

/**
 * Virtual time and what happens in it: actions scheduled at instants (nanoseconds from 0), run in time order, and
 * in scheduling order among equal instants, so a simulation is deterministic. Time moves only from one action to
 * the next; nothing sleeps. Single-threaded.
 */
public final class EventLoop {

    private record Scheduled(long time, long seq, Runnable action) {
    }

    private final PriorityQueue<Scheduled> queue = new PriorityQueue<>((a, b) ->
            a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;
    private long executed;

    /** The current virtual time in nanoseconds. */
    public long now() {
        return now;
    }

    /** Schedules {@code action} at {@code time} (now if that is in the past). */
    public void at(long time, Runnable action) {
        queue.add(new Scheduled(Math.max(time, now), seq++, action));
    }

    /** Schedules {@code action} {@code delay} nanoseconds from now. */
    public void after(long delay, Runnable action) {
        at(now + Math.max(0, delay), action);
    }

    /** Runs actions in time order until none is left. */
    public void run() {
        for (Scheduled s; (s = queue.poll()) != null; ) {
            now = s.time;
            executed++;
            s.action.run();
        }
    }

    /** Actions run so far (for profiling). */
    public long executed() {
        return executed;
    }
}
