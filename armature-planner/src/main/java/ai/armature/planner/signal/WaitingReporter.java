package ai.armature.planner.signal;

import java.util.Objects;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/**
 * What a frontend tells the planners about one model's requests waiting in front of its workers: those held because
 * the model has no worker ({@link HoldingEngine}) plus those waiting at its router because every worker is busy
 * ({@code --router-busy-prefill-tokens}). The planner takes the interval's arrivals as the requests the workers
 * admitted plus the change in this count, so it must come back to zero when the wait ends: {@link #report()} publishes
 * the count while any request waits and once more when none does, not only while some wait (a planner would keep the
 * last positive count until it aged out, and see a backlog that was gone). Thread-safe.
 */
public final class WaitingReporter {

    private final IntSupplier held;
    private final IntSupplier routerWaiting;
    private final IntConsumer publish;
    private int last;

    /**
     * @param held          requests held for want of a worker now
     * @param routerWaiting requests waiting at the router now
     * @param publish       sends the total to the planners (the event plane)
     */
    public WaitingReporter(IntSupplier held, IntSupplier routerWaiting, IntConsumer publish) {
        this.held = Objects.requireNonNull(held, "held");
        this.routerWaiting = Objects.requireNonNull(routerWaiting, "routerWaiting");
        this.publish = Objects.requireNonNull(publish, "publish");
    }

    /** Publishes the requests waiting now, if any wait or some did at the last report; returns the count. */
    public synchronized int report() {
        int n = Math.max(0, held.getAsInt()) + Math.max(0, routerWaiting.getAsInt());
        if (n > 0 || last > 0) publish.accept(n);
        last = n;
        return n;
    }
}
