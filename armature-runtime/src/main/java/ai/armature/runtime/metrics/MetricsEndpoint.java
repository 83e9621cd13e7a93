package ai.armature.runtime.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * A worker's small HTTP endpoint: Prometheus {@code /metrics} from a registry, and {@code /health} (200 while
 * {@code healthy}, else 503, e.g. while draining). The JDK's HTTP server on virtual threads: a worker needs
 * nothing heavier for a scrape every few seconds.
 */
public final class MetricsEndpoint implements AutoCloseable {

    private final HttpServer server;

    public MetricsEndpoint(String host, int port, PrometheusRegistry registry, BooleanSupplier healthy) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 64);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        server.createContext("/metrics", ex -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
            writer.write(out, registry.scrape());
            send(ex, 200, writer.getContentType(), out.toByteArray());
        });
        server.createContext("/health", ex -> {
            boolean ok = healthy.getAsBoolean();
            send(ex, ok ? 200 : 503, "application/json", (ok ? "{\"status\":\"ready\"}" : "{\"status\":\"draining\"}").getBytes(StandardCharsets.UTF_8));
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
