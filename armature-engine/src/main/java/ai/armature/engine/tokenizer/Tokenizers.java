package ai.armature.engine.tokenizer;

import ai.armature.engine.gguf.GgufFile;
import ai.armature.engine.gguf.GgufMetadata;
import ai.armature.engine.gguf.GgufReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Builds the {@link Tokenizer} of a model: from GGUF metadata ({@code tokenizer.ggml.*}: the {@code llama}
 * SentencePiece kind, the {@code gpt2} byte-level BPE kind with the pre-tokenizer {@code tokenizer.ggml.pre}
 * names, and the {@code bert} WordPiece kind), or from a Hugging Face {@code tokenizer.json} (+ {@code tokenizer_config.json}). Loading errors say which
 * key or file is wrong.
 */
public final class Tokenizers {

    private static final System.Logger LOG = System.getLogger(Tokenizers.class.getName());

    private Tokenizers() {
    }

    /**
     * The tokenizer described by GGUF metadata.
     *
     * @throws IllegalArgumentException when the metadata lacks the tokenizer or names an unsupported kind or
     *                                  pre-tokenizer
     */
    public static Tokenizer fromGguf(GgufMetadata md) {
        String model = md.getString("tokenizer.ggml.model");
        if (model == null) throw new IllegalArgumentException("the GGUF file has no tokenizer (tokenizer.ggml.model is missing)");
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        if (tokens == null) throw new IllegalArgumentException("the GGUF file has no vocabulary (tokenizer.ggml.tokens is missing)");
        int[] typeCodes = md.getIntArray("tokenizer.ggml.token_type");
        TokenType[] types = new TokenType[tokens.length];
        for (int i = 0; i < tokens.length; i++) types[i] = typeCodes == null ? TokenType.NORMAL : TokenType.fromGguf(typeCodes[i]);
        float[] scores = md.getFloatArray("tokenizer.ggml.scores");
        int[] extraEnd = {md.getInt("tokenizer.ggml.eot_token_id", -1), md.getInt("tokenizer.ggml.eom_token_id", -1)};
        return switch (model) {
            case "llama" -> {
                Vocabulary v = new Vocabulary(tokens, types, scores,
                        md.getInt("tokenizer.ggml.bos_token_id", 1), md.getInt("tokenizer.ggml.eos_token_id", 2),
                        md.getInt("tokenizer.ggml.unknown_token_id", 0), extraEnd,
                        md.getBoolean("tokenizer.ggml.add_bos_token", true), md.getBoolean("tokenizer.ggml.add_eos_token", false));
                yield new SentencePieceTokenizer(v, md.getBoolean("tokenizer.ggml.add_space_prefix", true));
            }
            case "gpt2" -> {
                String[] mergeLines = md.getStringArray("tokenizer.ggml.merges");
                if (mergeLines == null) throw new IllegalArgumentException("the GGUF BPE vocabulary has no merges (tokenizer.ggml.merges)");
                String pre = md.getString("tokenizer.ggml.pre");
                if (pre == null) {
                    LOG.log(System.Logger.Level.WARNING, "GGUF has no tokenizer.ggml.pre; using the GPT-2 pre-tokenizer expression");
                }
                PreTokenizer preTokenizer = PreTokenizers.forGgufName(pre);
                Vocabulary v = new Vocabulary(tokens, types, null,
                        md.getInt("tokenizer.ggml.bos_token_id", -1), md.getInt("tokenizer.ggml.eos_token_id", -1),
                        md.getInt("tokenizer.ggml.unknown_token_id", -1), extraEnd,
                        md.getBoolean("tokenizer.ggml.add_bos_token", false), md.getBoolean("tokenizer.ggml.add_eos_token", false));
                boolean ignoreMerges = "llama-bpe".equals(pre) || "llama3".equals(pre);
                yield new BpeTokenizer(v, splitMerges(mergeLines), preTokenizer, ignoreMerges, false, null, null);
            }
            case "bert" -> new WordPieceTokenizer(new Vocabulary(tokens, types, null,
                    md.getInt("tokenizer.ggml.cls_token_id", md.getInt("tokenizer.ggml.bos_token_id", -1)),
                    md.getInt("tokenizer.ggml.seperator_token_id", md.getInt("tokenizer.ggml.eos_token_id", -1)),
                    md.getInt("tokenizer.ggml.unknown_token_id", -1), extraEnd,
                    md.getBoolean("tokenizer.ggml.add_bos_token", true), md.getBoolean("tokenizer.ggml.add_eos_token", true)));
            default -> throw new IllegalArgumentException("unsupported tokenizer kind '" + model
                    + "' (tokenizer.ggml.model); supported: llama (SentencePiece), gpt2 (byte-level BPE), bert (WordPiece)");
        };
    }

    static String[][] splitMerges(String[] lines) {
        String[][] pairs = new String[lines.length][];
        for (int i = 0; i < lines.length; i++) {
            String m = lines[i];
            int sp = m.indexOf(' ', 1);
            pairs[i] = sp < 0 ? new String[]{m, ""} : new String[]{m.substring(0, sp), m.substring(sp + 1)};
        }
        return pairs;
    }

    /**
     * The tokenizer of {@code path}: a {@code .gguf} file, a {@code tokenizer.json} file, or a model directory that
     * contains {@code tokenizer.json} (and optionally {@code tokenizer_config.json} and
     * {@code generation_config.json} beside it).
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when the content is not a supported tokenizer
     */
    public static Tokenizer load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path json = path.resolve("tokenizer.json");
            if (!Files.exists(json)) {
                throw new IllegalArgumentException("directory " + path + " has no tokenizer.json");
            }
            return HfTokenizerLoader.load(json);
        }
        if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
        if (path.getFileName().toString().toLowerCase().endsWith(".gguf")) {
            return fromGguf(ggufMetadata(path));
        }
        return HfTokenizerLoader.load(path);
    }

    /**
     * The metadata of a GGUF file, read with the engine's GGUF reader.
     *
     * @throws IOException when the file cannot be read
     */
    public static GgufMetadata ggufMetadata(Path path) throws IOException {
        try (GgufFile f = GgufReader.open(path)) {
            return f.metadata();
        }
    }
}
