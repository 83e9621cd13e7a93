package ai.armature.cli;

import ai.armature.engine.tokenizer.Tokenizer;
import ai.armature.engine.tokenizer.Tokenizers;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * {@code armature tokenize --model FILE TEXT}: prints the token ids of TEXT on one line, separated by spaces. No
 * BOS unless {@code --bos}; special tokens in TEXT are recognised only with {@code --special}.
 */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Print the token ids of TEXT with a model's tokenizer.")
public final class TokenizeCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "A .gguf file, a tokenizer.json, or a model directory containing tokenizer.json.")
    Path model;

    @Option(names = "--bos", description = "Prepend the BOS token (if the vocabulary has one).")
    boolean bos;

    @Option(names = "--special", description = "Recognise special tokens such as <|eot_id|> written in TEXT.")
    boolean special;

    @Parameters(index = "0", paramLabel = "TEXT", description = "The text to tokenize.")
    String text;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Tokenizer tok = load(model);
        int[] ids = tok.encode(text, bos, special);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            if (i > 0) b.append(' ');
            b.append(ids[i]);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(b);
        out.flush();
    }

    static Tokenizer load(Path model) {
        try {
            return Tokenizers.load(model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
