package ai.armature.serving;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One worker's thread for constrained-decoding masks, so their computation overlaps the forward pass instead of
 * adding to it. Started on the first constrained request; a worker that never sees one never starts it.
 */
final class MaskThread implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(MaskThread.class.getName());
    private static final Runnable STOP = () -> { };

    private final String name;
    private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private Thread thread;

    MaskThread(String name) {
        this.name = name;
    }

    synchronized void submit(Runnable task) {
        if (thread == null) {
            thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::run);
            thread.start();
        }
        queue.add(task);
    }

    private void run() {
        try {
            while (true) {
                Runnable r = queue.take();
                if (r == STOP) return;
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "a constrained-decoding mask failed: " + e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void close() {
        if (thread != null) queue.add(STOP);
    }
}
