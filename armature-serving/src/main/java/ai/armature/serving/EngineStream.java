package ai.armature.serving;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;

import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerationStream;

/**
 * The blocking output stream of one request: the engine thread offers outputs, one consumer takes them (a virtual
 * thread blocks cheaply in {@link #next()}). Closing it before the final output cancels the request.
 */
final class EngineStream implements GenerationStream, Consumer<GenerateOutput> {

    private final String requestId;
    private final Consumer<String> canceller;
    private final LinkedBlockingQueue<GenerateOutput> queue = new LinkedBlockingQueue<>();
    private volatile boolean finishedDelivered;
    private boolean finishedTaken;

    EngineStream(String requestId, Consumer<String> canceller) {
        this.requestId = requestId;
        this.canceller = canceller;
    }

    @Override
    public String requestId() {
        return requestId;
    }

    @Override
    public void accept(GenerateOutput output) {
        if (output.finished()) finishedDelivered = true;
        queue.add(output);
    }

    @Override
    public GenerateOutput next() throws InterruptedException {
        if (finishedTaken) return null;
        GenerateOutput out = queue.take();
        if (out.finished()) finishedTaken = true;
        return out;
    }

    @Override
    public void close() {
        if (!finishedDelivered) canceller.accept(requestId);
    }
}
