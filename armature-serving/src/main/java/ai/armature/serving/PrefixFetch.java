package ai.armature.serving;

import java.util.concurrent.ExecutionException;
import java.util.logging.Logger;

import ai.armature.engine.grammar.CompiledGrammar;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.kv.KvTransfer;
import ai.armature.serving.disagg.KvTransferException;
import ai.armature.serving.disagg.KvTransferListener;
import ai.armature.serving.disagg.KvTransport;
import ai.armature.serving.kv.KvImport;

/**
 * The decode side of one KV transfer, on its own virtual thread: reserve blocks for the prompt's incoming full
 * blocks (those this worker caches already are kept and not fetched), pull the rest from the prefill worker through
 * the transport into them, then hand the request to the engine with what arrived. Whatever goes wrong with the
 * transfer (source gone, hold expired, broken stream, corrupt chunk, deadline) only shortens what arrived: the
 * request then computes the rest here. A cancel or shutdown while it fetches ends the request and gives the
 * reserved blocks back. The transfer runs off the engine thread, which keeps stepping the worker's other requests.
 */
final class PrefixFetch {

    private static final Logger LOG = Logger.getLogger(PrefixFetch.class.getName());

    private final ServingEngine engine;
    private final GenerateRequest request;
    private final CompiledGrammar grammar;
    private final EngineStream stream;
    private final KvTransfer.Fetch source;
    private final KvTransport transport;
    private final long timeoutNanos;
    private final KvTransferListener listener;
    private Thread thread;
    /** Set under this object's lock: the request went to the engine; or it ends here (cancel, shutdown). */
    private boolean handedOver;
    private FinishReason endedAs;

    PrefixFetch(ServingEngine engine, GenerateRequest request, CompiledGrammar grammar, EngineStream stream, KvTransfer.Fetch source,
                KvTransport transport, long timeoutNanos, KvTransferListener listener) {
        this.engine = engine;
        this.request = request;
        this.grammar = grammar;
        this.stream = stream;
        this.source = source;
        this.transport = transport;
        this.timeoutNanos = timeoutNanos;
        this.listener = listener;
    }

    synchronized void start() {
        thread = Thread.ofVirtual().name("armature-kv-fetch-" + request.requestId()).start(this::run);
    }

    /** Cancels the request if it is still fetching (true: it ends here with CANCELLED); false once handed over. */
    synchronized boolean cancel() {
        return end(FinishReason.CANCELLED);
    }

    /** The worker shuts down: end with the shutdown error unless handed over. */
    synchronized void shutdown() {
        end(FinishReason.ERROR);
    }

    private boolean end(FinishReason reason) {
        if (handedOver) return false;
        if (endedAs == null) {
            endedAs = reason;
            if (thread != null) thread.interrupt();
        }
        return true;
    }

    private void run() {
        long start = System.nanoTime();
        long deadline = start + timeoutNanos;
        KvImport reserved = null;
        try {
            reserved = engine.reserveImport(request).get();
            if (reserved.capacity() == 0) {
                transport.release(source); // cached here already, or no room: nothing to receive
            } else {
                int got = transport.fetch(source, reserved.fromBlock(), reserved.capacity(), reserved::write, deadline);
                listener.received(got, got * reserved.layout().blockBytes(), (System.nanoTime() - start) / 1e9);
            }
        } catch (KvTransferException e) {
            int got = e.blocksReceived();
            if (reserved != null) listener.received(got, got * reserved.layout().blockBytes(), (System.nanoTime() - start) / 1e9);
            listener.fellBack(e.getMessage(), got);
            LOG.warning(() -> "request " + request.requestId() + ": " + e.getMessage() + "; computing the rest of its prompt here");
        } catch (InterruptedException e) {
            // cancelled or shutting down: endedAs says which
        } catch (ExecutionException e) {
            // The engine could not reserve (it is shut down, or its runner cannot import): compute locally if it still runs.
            LOG.fine(() -> "request " + request.requestId() + ": no KV import (" + e.getCause() + ")");
        } catch (RuntimeException e) {
            listener.fellBack(String.valueOf(e.getMessage()), reserved == null ? 0 : reserved.written());
            LOG.warning(() -> "request " + request.requestId() + ": the KV transfer failed (" + e + "); computing its prompt here");
        }
        FinishReason ended;
        synchronized (this) {
            ended = endedAs;
            if (ended == null) handedOver = true;
        }
        Thread.interrupted(); // a late interrupt must not leak into what follows
        if (ended == null) {
            engine.submitImported(request, grammar, stream, reserved);
        } else {
            engine.fetchEnded(request, stream, reserved, ended, ended == FinishReason.ERROR ? ServingEngine.shutdownMessage() : null);
        }
    }
}
