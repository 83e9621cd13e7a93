package ai.armature.protocol.kv;

/**
 * Where a worker holds a cached KV block: {@link #DEVICE} (G1, the pool the model computes in), {@link #HOST}
 * (G2, off-heap host memory) or {@link #DISK} (G3, local files). A block in a lower tier is not lost: the worker
 * copies it back up instead of recomputing it, which costs less than a miss but more than a device hit (a router
 * may weigh hits by tier).
 */
public enum KvTier {
    DEVICE, HOST, DISK
}
