package ai.armature.planner.profile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The file form of a {@link PerformanceProfile} ({@code profile.json}):
 * <pre>
 * {"format": "armature-profile-v1", "source": "mock:h100-llama3-8b", "clock": "virtual",
 *  "limits": {"max_batched_tokens": 512, "max_seqs": 128, "block_size": 16, "kv_cache_tokens": 411968, "max_context_tokens": 8192},
 *  "prefill": [{"input_tokens": 16, "seconds": 0.0063, "tokens_per_second": 2540.0}, ...],
 *  "decode": {"batch_sizes": [1, 2, ...], "context_tokens": [128, 256, ...], "itl_seconds": [[0.0063, ...], ...]}}
 * </pre>
 * A decode cell that was not measured (the batch did not fit in the KV cache) is {@code null}. Reading checks
 * every field and names the one that is wrong.
 */
public final class ProfileJson {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ProfileJson() {
    }

    public static String toJson(PerformanceProfile p) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", PerformanceProfile.FORMAT);
        root.put("source", p.source());
        root.put("clock", p.clock());
        ObjectNode limits = root.putObject("limits");
        limits.put("max_batched_tokens", p.limits().maxBatchedTokens());
        limits.put("max_seqs", p.limits().maxSeqs());
        limits.put("block_size", p.limits().blockSize());
        limits.put("kv_cache_tokens", p.limits().kvCacheTokens());
        limits.put("max_context_tokens", p.limits().maxContextTokens());
        ArrayNode prefill = root.putArray("prefill");
        for (PerformanceProfile.PrefillPoint pt : p.prefill()) {
            ObjectNode o = prefill.addObject();
            o.put("input_tokens", pt.inputTokens());
            o.put("seconds", pt.seconds());
            o.put("tokens_per_second", pt.tokensPerSecond());
        }
        ObjectNode decode = root.putObject("decode");
        PerformanceProfile.DecodeGrid g = p.decode();
        ArrayNode batches = decode.putArray("batch_sizes");
        for (int b : g.batchSizes()) batches.add(b);
        ArrayNode contexts = decode.putArray("context_tokens");
        for (int c : g.contextTokens()) contexts.add(c);
        ArrayNode rows = decode.putArray("itl_seconds");
        double[][] itl = g.itlSeconds();
        for (double[] row : itl) {
            ArrayNode r = rows.addArray();
            for (double v : row) {
                if (Double.isNaN(v)) r.addNull();
                else r.add(v);
            }
        }
        try {
            return MAPPER.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static void write(PerformanceProfile p, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(file, toJson(p));
    }

    /** Reads a profile file; a missing, unreadable or malformed file is an IllegalArgumentException naming it. */
    public static PerformanceProfile read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("profile " + file + " does not exist: write one with 'armature profile --out " + file + "'");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read profile " + file + ": " + e.getMessage());
        }
        try {
            return fromJson(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("profile " + file + ": " + e.getMessage());
        }
    }

    public static PerformanceProfile fromJson(String text) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new IllegalArgumentException("expected a JSON object");
        String format = text(root, "format");
        if (!format.equals(PerformanceProfile.FORMAT)) {
            throw new IllegalArgumentException("format is '" + format + "', this version reads " + PerformanceProfile.FORMAT);
        }
        JsonNode l = object(root, "limits");
        var limits = new PerformanceProfile.Limits(integer(l, "max_batched_tokens"), integer(l, "max_seqs"), integer(l, "block_size"),
                longValue(l, "kv_cache_tokens"), integer(l, "max_context_tokens"));
        JsonNode pf = array(root, "prefill");
        List<PerformanceProfile.PrefillPoint> prefill = new ArrayList<>();
        for (int i = 0; i < pf.size(); i++) {
            JsonNode o = pf.get(i);
            if (!o.isObject()) throw new IllegalArgumentException("prefill[" + i + "] must be an object");
            prefill.add(new PerformanceProfile.PrefillPoint(integer(o, "input_tokens"), number(o, "seconds")));
        }
        JsonNode d = object(root, "decode");
        int[] batches = ints(array(d, "batch_sizes"), "decode.batch_sizes");
        int[] contexts = ints(array(d, "context_tokens"), "decode.context_tokens");
        JsonNode rows = array(d, "itl_seconds");
        double[][] itl = new double[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            JsonNode r = rows.get(i);
            if (!r.isArray()) throw new IllegalArgumentException("decode.itl_seconds[" + i + "] must be an array");
            itl[i] = new double[r.size()];
            for (int j = 0; j < r.size(); j++) {
                JsonNode v = r.get(j);
                if (v.isNull()) itl[i][j] = Double.NaN;
                else if (v.isNumber()) itl[i][j] = v.doubleValue();
                else throw new IllegalArgumentException("decode.itl_seconds[" + i + "][" + j + "] must be a number or null");
            }
        }
        return new PerformanceProfile(text(root, "source"), text(root, "clock"), limits, prefill,
                new PerformanceProfile.DecodeGrid(batches, contexts, itl));
    }

    private static JsonNode field(JsonNode o, String name) {
        JsonNode v = o.get(name);
        if (v == null || v.isNull()) throw new IllegalArgumentException("missing field '" + name + "'");
        return v;
    }

    private static String text(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isTextual()) throw new IllegalArgumentException("'" + name + "' must be a string");
        return v.asText();
    }

    private static JsonNode object(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isObject()) throw new IllegalArgumentException("'" + name + "' must be an object");
        return v;
    }

    private static JsonNode array(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isArray()) throw new IllegalArgumentException("'" + name + "' must be an array");
        return v;
    }

    private static double number(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isNumber()) throw new IllegalArgumentException("'" + name + "' must be a number");
        return v.doubleValue();
    }

    private static int integer(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw new IllegalArgumentException("'" + name + "' must be an integer");
        return v.intValue();
    }

    private static long longValue(JsonNode o, String name) {
        JsonNode v = field(o, name);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException("'" + name + "' must be an integer");
        return v.longValue();
    }

    private static int[] ints(JsonNode a, String name) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException(name + "[" + i + "] must be an integer");
            out[i] = v.intValue();
        }
        return out;
    }
}
