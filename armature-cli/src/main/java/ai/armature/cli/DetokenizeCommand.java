package ai.armature.cli;

import ai.armature.engine.tokenizer.Tokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** {@code armature detokenize --model FILE IDS...}: prints the text of the token ids (special tokens included). */
@Command(
        name = "detokenize",
        mixinStandardHelpOptions = true,
        description = "Print the text of token ids with a model's tokenizer.")
public final class DetokenizeCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "FILE",
            description = "A .gguf file, a tokenizer.json, or a model directory containing tokenizer.json.")
    Path model;

    @Option(names = "--skip-special", description = "Leave out control tokens such as BOS and EOS.")
    boolean skipSpecial;

    @Parameters(paramLabel = "IDS", arity = "1..*", description = "Token ids (spaces or commas between them).")
    List<String> ids;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Tokenizer tok = TokenizeCommand.load(model);
        int[] parsed = ids.stream().flatMap(s -> java.util.Arrays.stream(s.split("[,\\s]+"))).filter(s -> !s.isEmpty())
                .mapToInt(s -> {
                    try {
                        return Integer.parseInt(s);
                    } catch (NumberFormatException e) {
                        throw new CliErrors.UserError("not a token id: '" + s + "'");
                    }
                }).toArray();
        for (int id : parsed) {
            if (id < 0 || id >= tok.vocabSize()) {
                throw new CliErrors.UserError("token id " + id + " is outside the vocabulary (0.." + (tok.vocabSize() - 1) + ")");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(tok.decode(parsed, !skipSpecial));
        out.flush();
    }
}
