package ai.armature.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A request trace in the Mooncake JSONL format: one object per line with {@code timestamp} (milliseconds from the
 * start), {@code input_length} and {@code output_length} (tokens) and {@code hash_ids} (ids of the prompt's
 * 512-token blocks; equal ids mean an equal, shareable prefix block).
 */
public record MooncakeTrace(List<Entry> entries) {

    /** Tokens per hash block in the Mooncake format. */
    public static final int BLOCK_TOKENS = 512;

    /** One trace line. */
    public record Entry(long timestampMs, int inputLength, int outputLength, long[] hashIds) {
    }

    /** Reads at most {@code maxLines} entries (all when negative); a malformed line is a clear error. */
    public static MooncakeTrace read(Path file, long maxLines) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Entry> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null && (maxLines < 0 || out.size() < maxLines)) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                out.add(parse(json, line, file, lineNo));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("trace " + file + " has no requests");
        }
        return new MooncakeTrace(List.copyOf(out));
    }

    private static Entry parse(ObjectMapper json, String line, Path file, int lineNo) {
        try {
            JsonNode n = json.readTree(line);
            JsonNode ts = n.get("timestamp");
            JsonNode in = n.get("input_length");
            JsonNode out = n.get("output_length");
            if (ts == null || in == null || out == null || !ts.isNumber() || !in.isInt() || !out.isInt()) {
                throw new IllegalArgumentException("needs numeric timestamp, input_length and output_length");
            }
            JsonNode ids = n.get("hash_ids");
            long[] hashIds = new long[ids == null ? 0 : ids.size()];
            for (int i = 0; i < hashIds.length; i++) {
                hashIds[i] = ids.get(i).asLong();
            }
            return new Entry(ts.asLong(), in.asInt(), out.asInt(), hashIds);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("trace " + file + " line " + lineNo + " is not a Mooncake trace entry: "
                    + e.getMessage());
        }
    }
}
