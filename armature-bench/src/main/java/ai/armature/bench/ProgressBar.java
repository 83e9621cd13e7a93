package ai.armature.bench;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A one-line progress display on stderr, redrawn four times a second: requests done (of the total when known),
 * failures, elapsed time and the output tokens/s of the last second. Only used on a terminal.
 */
public final class ProgressBar implements ProgressListener, AutoCloseable {

    private final PrintStream err;
    private final long total;
    private final String label;
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong tokens = new AtomicLong();
    private final long start = System.nanoTime();
    private final Thread ticker;
    private volatile boolean closed;

    /** @param total requests expected, or -1 when unknown */
    public ProgressBar(PrintStream err, long total, String label) {
        this.err = err;
        this.total = total;
        this.label = label;
        this.ticker = Thread.ofPlatform().daemon().name("bench-progress").start(this::tick);
    }

    /** Whether stderr looks like a terminal (the JDK can only tell for the console as a whole). */
    public static boolean terminalAttached() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    @Override
    public void requestDone(RequestRecord r) {
        done.incrementAndGet();
        if (!r.ok()) {
            failed.incrementAndGet();
        }
        tokens.addAndGet(r.outputTokens());
    }

    private void tick() {
        long lastTokens = 0;
        long lastTime = start;
        double rate = 0;
        while (!closed) {
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            if (now - lastTime >= 1_000_000_000L) {
                long t = tokens.get();
                rate = (t - lastTokens) / ((now - lastTime) / 1e9);
                lastTokens = t;
                lastTime = now;
            }
            draw(now, rate);
        }
    }

    private void draw(long now, double rate) {
        long d = done.get();
        String bar = "";
        if (total > 0) {
            int width = 30;
            int fill = (int) Math.min(width, d * width / total);
            bar = "[" + "#".repeat(fill) + " ".repeat(width - fill) + "] ";
        }
        err.printf("\r%s %s%d%s requests, %d failed, %.1fs, %.0f tok/s   ", label, bar, d,
                total > 0 ? "/" + total : "", failed.get(), (now - start) / 1e9, rate);
        err.flush();
    }

    @Override
    public void close() {
        closed = true;
        ticker.interrupt();
        try {
            ticker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        err.print("\r" + " ".repeat(100) + "\r");
        err.flush();
    }
}
