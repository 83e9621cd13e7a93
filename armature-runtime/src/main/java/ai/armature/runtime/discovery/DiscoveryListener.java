package ai.armature.runtime.discovery;

import ai.armature.protocol.ModelCard;

/**
 * Receives the workers a {@link Discovery} watch sees, on one thread at a time: {@link #workerUp} for a worker
 * that appeared (or whose card changed: the same id again), {@link #workerDown} for one whose registration ended
 * (deregistered, or its lease expired). Must return quickly.
 */
public interface DiscoveryListener {

    void workerUp(ModelCard card);

    void workerDown(String workerId);
}
