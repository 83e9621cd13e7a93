package ai.armature.frontend;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Set;

/**
 * Cross-origin access for browser apps, for the origins {@code --allowed-origins} names (none by default, {@code *}
 * for any): actual requests from an allowed origin get {@code Access-Control-Allow-Origin}, preflights
 * ({@code OPTIONS} with {@code Access-Control-Request-Method}) get the methods and headers the API accepts; requests
 * from other origins get no CORS headers, so the browser keeps them from the page. Credentials are never allowed:
 * the API authenticates with a bearer key, not cookies. Small enough that Helidon's CORS module, which configures
 * per path through its own config tree and answers refusals in its own format, would not earn its place.
 */
final class Cors {

    static final String ALLOWED_METHODS = "GET, POST, HEAD, OPTIONS";
    static final String ALLOWED_HEADERS = "authorization, content-type, accept";
    /** How long a browser may cache a preflight answer, in seconds. */
    static final int MAX_AGE_SECONDS = 600;

    private final Set<String> origins;
    private final boolean any;

    Cors(Set<String> origins) {
        this.origins = origins;
        this.any = origins.contains("*");
    }

    /** The request's origin when it is allowed, else null (no Origin header: not a cross-origin request). */
    String allowedOrigin(ServerRequest req) {
        String origin = req.headers().first(HeaderNames.ORIGIN).orElse(null);
        if (origin == null) return null;
        return any || origins.contains(origin) ? origin : null;
    }

    boolean isPreflight(ServerRequest req) {
        return req.prologue().method().text().equals("OPTIONS") && req.headers().contains(HeaderNames.ORIGIN)
                && req.headers().contains(HeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    }

    /** Adds the headers of an allowed actual request (before the response is sent). */
    void decorate(ServerRequest req, ServerResponse res) {
        String origin = allowedOrigin(req);
        if (origin == null) return;
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, any ? "*" : origin);
        if (!any) res.header(HeaderNames.VARY, "Origin");
        res.header(HeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "x-request-id, retry-after");
    }

    /** Answers a preflight: 204 with what is allowed, or 403 for an origin that is not. */
    void preflight(ServerRequest req, ServerResponse res) {
        String origin = allowedOrigin(req);
        if (origin == null) {
            res.status(403);
            res.send();
            return;
        }
        res.status(204);
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, any ? "*" : origin);
        if (!any) res.header(HeaderNames.VARY, "Origin");
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS);
        // The headers the browser says it will send (the SDKs add their own x-stainless-* ones), or the usual ones.
        res.header(HeaderNames.ACCESS_CONTROL_ALLOW_HEADERS,
                req.headers().first(HeaderNames.ACCESS_CONTROL_REQUEST_HEADERS).orElse(ALLOWED_HEADERS));
        res.header(HeaderNames.ACCESS_CONTROL_MAX_AGE, Integer.toString(MAX_AGE_SECONDS));
        res.send();
    }
}
