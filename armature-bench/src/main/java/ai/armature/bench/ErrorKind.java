package ai.armature.bench;

/** Why a request failed; the report counts failures by kind (HTTP failures also by status code). */
public enum ErrorKind {
    /** The server answered with a non-200 status. */
    HTTP_STATUS("http"),
    /** The request did not finish within the request timeout. */
    TIMEOUT("timeout"),
    /** No connection could be made. */
    CONNECTION_REFUSED("connection_refused"),
    /** The connection broke, or the stream ended before {@code [DONE]}. */
    CONNECTION_DROPPED("connection_dropped"),
    /** The server sent something that is not an OpenAI server-sent-event stream. */
    MALFORMED("malformed"),
    /** The server reported an error inside the stream. */
    STREAM_ERROR("stream_error");

    private final String key;

    ErrorKind(String key) {
        this.key = key;
    }

    /** The report key: {@code http_503} for HTTP failures, the kind's name otherwise. */
    public String key(int httpStatus) {
        return this == HTTP_STATUS ? key + "_" + httpStatus : key;
    }

    /** The kind whose {@link #key} is {@code key} ({@code http_*} maps to {@link #HTTP_STATUS}). */
    public static ErrorKind fromKey(String key) {
        if (key.startsWith("http")) {
            return HTTP_STATUS;
        }
        for (ErrorKind k : values()) {
            if (k.key.equals(key)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown error kind " + key);
    }
}
