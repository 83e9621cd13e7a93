package ai.armature.router;

/**
 * What a worker does for requests: everything ({@link #AGGREGATED}, the default), or one phase of disaggregated
 * serving ({@link #PREFILL} computes prompts' KV, {@link #DECODE} continues from transferred KV). {@link Router#submit}
 * routes among aggregated workers; disaggregation picks prefill and decode workers through {@link Router#route}.
 */
public enum WorkerRole {
    AGGREGATED, PREFILL, DECODE
}
