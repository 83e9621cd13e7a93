package ai.armature.frontend;

import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerationStream;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Reads the output streams of all choices of one HTTP request as one sequence of items, in arrival order. One
 * stream is read directly on the calling thread; several are each pumped by a virtual thread into one queue, so a
 * slow choice does not hold back the others. {@link #close()} stops the pumps (the streams are closed by the caller).
 */
final class OutputMux implements AutoCloseable {

    /** An output of choice {@code index}; {@code output} null means that choice's stream has ended. */
    record Item(int index, GenerateOutput output) {
    }

    private final List<GenerationStream> streams;
    private final LinkedBlockingQueue<Item> queue;
    private final List<Thread> pumps = new ArrayList<>();
    private int open;

    OutputMux(List<GenerationStream> streams) {
        this.streams = streams;
        this.open = streams.size();
        if (streams.size() == 1) {
            queue = null;
            return;
        }
        queue = new LinkedBlockingQueue<>();
        for (int i = 0; i < streams.size(); i++) {
            int index = i;
            GenerationStream s = streams.get(i);
            pumps.add(Thread.ofVirtual().name("armature-choice-" + s.requestId()).start(() -> pump(index, s)));
        }
    }

    private void pump(int index, GenerationStream s) {
        try {
            GenerateOutput out;
            while ((out = s.next()) != null) {
                queue.add(new Item(index, out));
                if (out.finished()) break;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            queue.add(new Item(index, null));
        }
    }

    /** The next output of any choice, or null once every stream has ended. */
    Item next() throws InterruptedException {
        while (open > 0) {
            if (queue == null) {
                GenerateOutput out = streams.getFirst().next();
                if (out == null || out.finished()) open = 0;
                if (out != null) return new Item(0, out);
                return null;
            }
            Item item = queue.take();
            if (item.output() != null) return item;
            open--;
        }
        return null;
    }

    @Override
    public void close() {
        for (Thread t : pumps) t.interrupt();
    }
}
