package ai.armature.runtime.discovery;

import ai.armature.protocol.ModelCard;

/**
 * Where workers announce themselves and frontends find them. {@link #register} keeps a worker's card alive
 * (networked: under an etcd lease with keep-alive, so a worker whose process dies disappears when its lease
 * expires) until the registration is closed, which removes it at once (a draining worker). {@link #watch} reports
 * the current workers, then every change; when the discovery service is unreachable a watcher keeps what it knew
 * and reconciles once it is back. Implementations: {@link InProcessDiscovery} (embedded mode, tests) and
 * {@link EtcdDiscovery}. Thread-safe.
 */
public interface Discovery extends AutoCloseable {

    /** Registers a worker's card; it stays registered (re-registering after outages) until the handle is closed. */
    Registration register(ModelCard card);

    /** Starts reporting workers to {@code listener}: every current one, then each change, until the watch is closed. */
    AutoCloseable watch(DiscoveryListener listener);

    @Override
    void close();

    /** A worker's registration; closing it deregisters the worker at once. */
    interface Registration extends AutoCloseable {

        /** Whether the card is registered right now (false during an outage until re-registered). */
        boolean registered();

        /**
         * Waits up to {@code timeout} for the card to be registered (a worker announces itself as ready only then);
         * returns whether it is. Registration goes on retrying in the background either way.
         */
        boolean awaitRegistered(java.time.Duration timeout) throws InterruptedException;

        @Override
        void close();
    }
}
