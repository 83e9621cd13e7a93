package ai.armature.bench;

/**
 * Runs the fake server on its own, for measuring the client's throughput from another process (not a test):
 * {@code java -cp ... ai.armature.bench.FakeServerMain PORT_FILE TTFT_MS ITL_MS TOKENS_PER_CHUNK}. Writes its URL
 * to PORT_FILE and serves until killed; every request streams its {@code max_tokens} tokens.
 */
public final class FakeServerMain {

    private FakeServerMain() {
    }

    public static void main(String[] args) throws Exception {
        long ttft = (long) (Double.parseDouble(args[1]) * 1e6);
        long itl = (long) (Double.parseDouble(args[2]) * 1e6);
        int perChunk = Integer.parseInt(args[3]);
        FakeOpenAiServer server = new FakeOpenAiServer(i -> FakeOpenAiServer.Behavior.ok(ttft, itl, -1)
                .withTokensPerChunk(perChunk));
        java.nio.file.Files.writeString(java.nio.file.Path.of(args[0]), server.url());
        Thread.currentThread().join();
    }
}
