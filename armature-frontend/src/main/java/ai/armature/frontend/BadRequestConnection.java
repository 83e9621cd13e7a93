package ai.armature.frontend;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.spi.ServerConnection;

import java.time.Duration;

/**
 * A connection that is not HTTP: it gets one 400 response (an OpenAI error body, {@code Connection: close}) and is
 * closed; one that hung up before saying anything gets nothing. No log line: garbage on a public port is routine.
 */
final class BadRequestConnection implements ServerConnection {

    private final ConnectionContext ctx;
    private final byte[] response;

    /** @param response the bytes to send, or null to just close */
    BadRequestConnection(ConnectionContext ctx, byte[] response) {
        this.ctx = ctx;
        this.response = response;
    }

    @Override
    public void handle(Limit limit) {
        if (response == null) return;
        try {
            ctx.dataWriter().writeNow(BufferData.create(response));
        } catch (RuntimeException ignored) {
            // the client is gone already
        }
    }

    @Override
    public Duration idleTime() {
        return Duration.ZERO;
    }

    @Override
    public void close(boolean interrupt) {
    }
}
