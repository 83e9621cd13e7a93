package ai.armature.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} with a byte-level BPE model (Llama 3, Qwen2/3, GPT-2 style), plus
 * {@code tokenizer_config.json} (BOS/EOS, add_bos_token) and {@code generation_config.json} (extra EOS ids) when
 * they sit beside it. Anything else (e.g. SentencePiece-style normalizers) is refused with a message.
 */
final class HfTokenizerLoader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfTokenizerLoader() {
    }

    static Tokenizer load(Path tokenizerJson) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(tokenizerJson + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.has("model")) throw new IllegalArgumentException(tokenizerJson + " is not a tokenizer.json (no \"model\")");
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        JsonNode config = readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode generation = readOptional(dir.resolve("generation_config.json"));
        return build(root, config, generation, tokenizerJson.toString());
    }

    private static JsonNode readOptional(Path p) throws IOException {
        return Files.exists(p) ? JSON.readTree(p.toFile()) : null;
    }

    static Tokenizer build(JsonNode root, JsonNode config, JsonNode generation, String source) {
        JsonNode model = root.get("model");
        String type = model.path("type").asText("BPE");
        if (!type.equals("BPE")) throw new IllegalArgumentException(source + ": unsupported model type '" + type + "' (only BPE)");

        boolean nfc = parseNormalizer(root.get("normalizer"), source);
        PreTokenizer pre = parsePreTokenizer(root.get("pre_tokenizer"), source);

        JsonNode vocabNode = model.get("vocab");
        int size = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) size = Math.max(size, it.next().getValue().asInt() + 1);
        JsonNode added = root.path("added_tokens");
        for (JsonNode a : added) size = Math.max(size, a.get("id").asInt() + 1);
        String[] texts = new String[size];
        TokenType[] types = new TokenType[size];
        Arrays.fill(types, TokenType.NORMAL);
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            var e = it.next();
            texts[e.getValue().asInt()] = e.getKey();
        }
        BitSet lstrip = new BitSet();
        BitSet rstrip = new BitSet();
        for (JsonNode a : added) {
            int id = a.get("id").asInt();
            texts[id] = a.get("content").asText();
            types[id] = a.path("special").asBoolean(false) ? TokenType.CONTROL : TokenType.USER_DEFINED;
            if (a.path("lstrip").asBoolean(false)) lstrip.set(id);
            if (a.path("rstrip").asBoolean(false)) rstrip.set(id);
        }
        for (int i = 0; i < size; i++) {
            if (texts[i] == null) {
                texts[i] = "[UNUSED_" + i + "]";
                types[i] = TokenType.UNUSED;
            }
        }

        JsonNode mergesNode = model.path("merges");
        String[][] merges = new String[mergesNode.size()][];
        for (int i = 0; i < merges.length; i++) {
            JsonNode m = mergesNode.get(i);
            if (m.isArray()) merges[i] = new String[]{m.get(0).asText(), m.get(1).asText()};
            else merges[i] = Tokenizers.splitMerges(new String[]{m.asText()})[0];
        }

        String bosText = tokenContent(config, "bos_token");
        String eosText = tokenContent(config, "eos_token");
        String unkText = tokenContent(config, "unk_token");
        int bos = idOf(texts, bosText);
        int eos = idOf(texts, eosText);
        int unk = idOf(texts, unkText);
        boolean addBos;
        if (config != null && config.has("add_bos_token")) addBos = config.get("add_bos_token").asBoolean();
        else addBos = postProcessorAddsBos(root.get("post_processor"), texts);
        boolean addEos = config != null && config.path("add_eos_token").asBoolean(false);
        List<Integer> extraEnd = new ArrayList<>();
        if (generation != null) {
            JsonNode e = generation.get("eos_token_id");
            if (e != null && e.isArray()) for (JsonNode x : e) extraEnd.add(x.asInt());
            else if (e != null && e.isInt()) extraEnd.add(e.asInt());
        }
        Vocabulary vocab = new Vocabulary(texts, types, null, bos, eos, unk,
                extraEnd.stream().mapToInt(Integer::intValue).toArray(), addBos, addEos);
        boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
        return new BpeTokenizer(vocab, merges, pre, ignoreMerges, nfc, lstrip, rstrip);
    }

    private static boolean parseNormalizer(JsonNode n, String source) {
        if (n == null || n.isNull()) return false;
        String t = n.path("type").asText();
        if (t.equals("NFC")) return true;
        if (t.equals("Sequence")) {
            boolean nfc = false;
            for (JsonNode x : n.path("normalizers")) nfc |= parseNormalizer(x, source);
            return nfc;
        }
        throw new IllegalArgumentException(source + ": unsupported normalizer '" + t + "' (supported: none, NFC)");
    }

    private static PreTokenizer parsePreTokenizer(JsonNode n, String source) {
        if (n == null || n.isNull()) throw new IllegalArgumentException(source + ": no pre_tokenizer; only byte-level BPE tokenizers are supported");
        String t = n.path("type").asText();
        switch (t) {
            case "ByteLevel":
                if (n.path("add_prefix_space").asBoolean(false)) {
                    throw new IllegalArgumentException(source + ": ByteLevel add_prefix_space=true is not supported");
                }
                return PreTokenizers.forGgufName("gpt-2");
            case "Sequence": {
                PreTokenizer split = null;
                boolean byteLevel = false;
                for (JsonNode x : n.path("pretokenizers")) {
                    String xt = x.path("type").asText();
                    if (xt.equals("Split") && split == null && x.path("pattern").has("Regex")
                            && x.path("behavior").asText().equals("Isolated") && !x.path("invert").asBoolean(false)) {
                        split = PreTokenizers.forHfRegex(x.path("pattern").path("Regex").asText());
                    } else if (xt.equals("ByteLevel") && !x.path("use_regex").asBoolean(true) && !byteLevel
                            && !x.path("add_prefix_space").asBoolean(false)) {
                        byteLevel = true;
                    } else {
                        throw new IllegalArgumentException(source + ": unsupported pre_tokenizer step " + x);
                    }
                }
                if (split == null || !byteLevel) {
                    throw new IllegalArgumentException(source + ": pre_tokenizer must be an isolated regex Split followed by ByteLevel");
                }
                return split;
            }
            default:
                throw new IllegalArgumentException(source + ": unsupported pre_tokenizer '" + t + "'");
        }
    }

    private static String tokenContent(JsonNode config, String key) {
        if (config == null) return null;
        JsonNode v = config.get(key);
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.asText();
        JsonNode c = v.get("content");
        return c == null ? null : c.asText();
    }

    private static int idOf(String[] texts, String text) {
        if (text == null) return -1;
        for (int i = texts.length - 1; i >= 0; i--) if (texts[i].equals(text)) return i;
        return -1;
    }

    private static boolean postProcessorAddsBos(JsonNode pp, String[] texts) {
        if (pp == null || pp.isNull()) return false;
        if (pp.path("type").asText().equals("Sequence")) {
            for (JsonNode x : pp.path("processors")) if (postProcessorAddsBos(x, texts)) return true;
            return false;
        }
        if (!pp.path("type").asText().equals("TemplateProcessing")) return false;
        JsonNode first = pp.path("single").path(0);
        return first.has("SpecialToken");
    }
}
