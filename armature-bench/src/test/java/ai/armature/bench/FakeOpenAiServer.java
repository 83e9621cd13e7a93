package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * A minimal OpenAI-compatible streaming server on a raw socket, for tests and for measuring the client's own
 * throughput: per request (by arrival order) a {@link Behavior} says how long until the first token, the gap
 * between chunks, how many tokens (and per chunk), or how to fail. It records when each request arrived, its
 * parsed body, and when each chunk was written, so tests compare the client's measurements with the truth.
 * Prompt tokens are counted as whitespace-separated words of the prompt (or of all message contents).
 */
final class FakeOpenAiServer implements AutoCloseable {

    /** What the server does for one request. */
    record Behavior(long ttftNanos, long itlNanos, int tokens, int tokensPerChunk, boolean usage, int cachedTokens,
                    int httpStatus, int dropAfterChunks, int stallAfterChunks, boolean malformed) {

        static Behavior ok(long ttftNanos, long itlNanos, int tokens) {
            return new Behavior(ttftNanos, itlNanos, tokens, 1, true, -1, 200, -1, -1, false);
        }

        Behavior withTokensPerChunk(int n) {
            return new Behavior(ttftNanos, itlNanos, tokens, n, usage, cachedTokens, httpStatus, dropAfterChunks,
                    stallAfterChunks, malformed);
        }

        Behavior withCached(int n) {
            return new Behavior(ttftNanos, itlNanos, tokens, tokensPerChunk, usage, n, httpStatus, dropAfterChunks,
                    stallAfterChunks, malformed);
        }

        static Behavior status(int status) {
            return new Behavior(0, 0, 0, 1, true, -1, status, -1, -1, false);
        }

        static Behavior dropAfter(int chunks) {
            return new Behavior(0, 1_000_000, 100, 1, true, -1, 200, chunks, -1, false);
        }

        /** Streams {@code chunks} chunks, then goes silent with the connection open. */
        static Behavior stallAfter(int chunks) {
            return new Behavior(0, 1_000_000, 100, 1, true, -1, 200, -1, chunks, false);
        }

        /** Never answers (not even the headers). */
        static Behavior hanging() {
            return new Behavior(0, 0, 0, 1, true, -1, 200, -1, -2, false);
        }

        static Behavior garbage() {
            return new Behavior(0, 0, 3, 1, true, -1, 200, -1, -1, true);
        }
    }

    /** What one request was, as the server saw it. */
    record Seen(int index, long arrivalNanos, String path, JsonNode body, List<Long> chunkNanos) {
    }

    private final ServerSocket socket;
    private final IntFunction<Behavior> behaviors;
    private final AtomicInteger counter = new AtomicInteger();
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    private final CountDownLatch closing = new CountDownLatch(1);
    private final List<Socket> connections = Collections.synchronizedList(new ArrayList<>());
    private final ObjectMapper json = new ObjectMapper();
    private final Thread acceptor;
    /** How the fake tokenizer counts a prompt: tokens = overhead + perWord * words. */
    private volatile int promptTokensPerWord = 1;
    private volatile int promptOverhead;
    /** When set, every request must carry {@code Authorization: Bearer <key>}, else 401. */
    volatile String requiredKey;

    FakeOpenAiServer(IntFunction<Behavior> behaviors) throws IOException {
        this.behaviors = behaviors;
        this.socket = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("fake-openai-accept").start(this::accept);
    }

    /** Makes the server count prompts as {@code overhead + perWord * words} tokens (a different tokenizer). */
    void countPromptsAs(int perWord, int overhead) {
        this.promptTokensPerWord = perWord;
        this.promptOverhead = overhead;
    }

    String url() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    List<Seen> seen() {
        synchronized (seen) {
            List<Seen> copy = new ArrayList<>(seen);
            copy.sort((a, b) -> Integer.compare(a.index(), b.index()));
            return copy;
        }
    }

    private void accept() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                s.setTcpNoDelay(true);
                connections.add(s);
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = new java.io.BufferedInputStream(s.getInputStream()); OutputStream raw = s.getOutputStream()) {
            OutputStream out = new BufferedOutputStream(raw, 1 << 16);
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                long arrival = System.nanoTime();
                String[] lines = head.split("\r\n");
                String[] requestLine = lines[0].split(" ");
                int length = 0;
                for (String l : lines) {
                    if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(l.substring(15).trim());
                    }
                }
                byte[] body = in.readNBytes(length);
                String key = requiredKey;
                if (key != null && java.util.Arrays.stream(lines).noneMatch(l -> l.equalsIgnoreCase("authorization: bearer " + key))) {
                    writeFixed(out, 401, "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
                            + "\"param\":null,\"code\":\"invalid_api_key\"}}");
                    continue;
                }
                if (requestLine[1].equals("/v1/models")) {
                    writeFixed(out, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\"}]}");
                    continue;
                }
                if (!handle(s, out, requestLine[1], body, arrival)) {
                    return;
                }
            }
        } catch (IOException e) {
            // client went away
        }
    }

    /** Returns false when the connection must not be reused. */
    private boolean handle(Socket s, OutputStream out, String path, byte[] body, long arrival) throws IOException {
        int index = counter.getAndIncrement();
        JsonNode req = json.readTree(body);
        List<Long> chunkTimes = Collections.synchronizedList(new ArrayList<>());
        seen.add(new Seen(index, arrival, path, req, chunkTimes));
        Behavior b = behaviors.apply(index);
        if (b.httpStatus() != 200) {
            writeFixed(out, b.httpStatus(), "{\"error\":{\"message\":\"injected failure\",\"type\":\"server_error\","
                    + "\"param\":null,\"code\":" + b.httpStatus() + "}}");
            return true;
        }
        if (b.stallAfterChunks() == -2) {
            try {
                closing.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
        boolean chat = path.equals("/v1/chat/completions");
        int promptTokens = promptOverhead + promptTokensPerWord * countPromptWords(req, chat);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        if (b.malformed()) {
            chunk(out, "data: {this is not json\n\n");
            out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return true;
        }
        long t = arrival + b.ttftNanos();
        int sent = 0;
        int chunks = 0;
        String piece = chat ? "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}"
                : "{\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"%s\",\"finish_reason\":null}]}";
        if (chat) {
            chunk(out, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
            out.flush();
        }
        // A negative token count means: as many as the request asked for.
        int tokens = b.tokens() >= 0 ? b.tokens() : req.path("max_tokens").asInt(16);
        while (sent < tokens) {
            if (chunks == b.stallAfterChunks()) {
                out.flush();
                try {
                    closing.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
            if (b.dropAfterChunks() >= 0 && chunks == b.dropAfterChunks()) {
                out.flush();
                s.setSoLinger(true, 0);
                s.close();
                return false;
            }
            waitUntil(t);
            int n = Math.min(b.tokensPerChunk(), tokens - sent);
            String text = " tok".repeat(n);
            chunk(out, "data: " + piece.formatted(text) + "\n\n");
            out.flush();
            long written = System.nanoTime();
            chunkTimes.add(written);
            sent += n;
            chunks++;
            // From the actual write, so a late chunk never makes the next ones burst to catch up.
            t = written + b.itlNanos();
        }
        String usage = b.usage() ? ",\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + sent
                + ",\"total_tokens\":" + (promptTokens + sent)
                + (b.cachedTokens() >= 0 ? ",\"prompt_tokens_details\":{\"cached_tokens\":" + b.cachedTokens() + "}" : "")
                + "}" : "";
        chunk(out, "data: {\"id\":\"c\",\"choices\":[]" + usage + "}\n\ndata: [DONE]\n\n");
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return true;
    }

    private static int countPromptWords(JsonNode req, boolean chat) {
        if (!chat) {
            return PromptText.countWords(req.path("prompt").asText());
        }
        int n = 0;
        for (JsonNode m : req.path("messages")) {
            n += PromptText.countWords(m.path("content").asText());
        }
        return n;
    }

    private static void waitUntil(long deadline) {
        long d;
        while ((d = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(d);
        }
    }

    private static void chunk(OutputStream out, String data) throws IOException {
        byte[] b = data.getBytes(StandardCharsets.UTF_8);
        out.write((Integer.toHexString(b.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static void writeFixed(OutputStream out, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(512);
        int state = 0;
        int c;
        while ((c = in.read()) >= 0) {
            buf.write(c);
            state = switch (state) {
                case 0, 2 -> c == '\r' ? state + 1 : 0;
                case 1, 3 -> c == '\n' ? state + 1 : (c == '\r' ? 1 : 0);
                default -> 0;
            };
            if (state == 4) {
                return buf.toString(StandardCharsets.US_ASCII);
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        closing.countDown();
        socket.close();
        synchronized (connections) {
            for (Socket s : connections) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }
}
