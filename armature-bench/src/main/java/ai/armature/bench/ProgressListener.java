package ai.armature.bench;

/** Told about every finished request while a run is going (the progress bar listens). */
public interface ProgressListener {

    /** Called from the requesting thread right after a request ended. */
    void requestDone(RequestRecord record);

    /** A listener that ignores everything. */
    ProgressListener NONE = r -> { };
}
