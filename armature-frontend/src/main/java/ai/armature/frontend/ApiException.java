package ai.armature.frontend;

/**
 * An error to return to the client as an OpenAI error body ({@code {"error": {"message", "type", "param", "code"}}})
 * with an HTTP status; {@code retryAfterSeconds} > 0 adds a {@code Retry-After} header. Thrown anywhere while a
 * request is handled and turned into the response in one place; expected errors carry no stack trace.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final int retryAfterSeconds;

    public ApiException(int status, String type, String param, String code, String message, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: a parameter (named, or null for the body as a whole) is missing or invalid. */
    public static ApiException badRequest(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, param == null ? null : "invalid_value", message, 0);
    }

    public static ApiException notFound(String param, String code, String message) {
        return new ApiException(404, "invalid_request_error", param, code, message, 0);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", null, "invalid_api_key", message, 0);
    }

    public static ApiException tooManyRequests(String message) {
        return new ApiException(429, "rate_limit_error", null, "rate_limit_exceeded", message, 1);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large", message, 0);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", null, "service_unavailable", message, 5);
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", null, "internal_error", message, 0);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
