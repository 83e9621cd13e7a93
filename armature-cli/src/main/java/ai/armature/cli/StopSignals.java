package ai.armature.cli;

import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;

/**
 * How every long-running role ({@code serve}, {@code frontend}, {@code worker}, {@code planner}) stops: the first
 * SIGINT or SIGTERM releases the returned latch, so the role drains its work; a second one, during that drain, exits
 * at once, for an operator who cannot wait.
 */
final class StopSignals {

    private StopSignals() {
    }

    /** Installs the handlers; the latch opens on the first signal. */
    static CountDownLatch install() {
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stopOrForce(stop));
        Signal.handle(new Signal("TERM"), s -> stopOrForce(stop));
        return stop;
    }

    private static void stopOrForce(CountDownLatch stop) {
        if (stop.getCount() == 0) {
            System.err.println("armature: second signal: exiting now without draining");
            Runtime.getRuntime().halt(130);
        }
        stop.countDown();
    }
}
