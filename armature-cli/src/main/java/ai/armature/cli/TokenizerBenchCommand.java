package ai.armature.cli;

import ai.armature.engine.tokenizer.Tokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code armature bench tokenizer --tokenizer FILE [--text FILE]}: single-thread encode throughput (MB/s of UTF-8
 * input and tokens/s, median of several timed runs after warm-up) on a large mixed text — English prose, source
 * code, CJK and emoji, generated deterministically — or on a given file; then the time to encode a 1 MB single
 * line without spaces, the input that exposes quadratic merge loops.
 */
@Command(
        name = "tokenizer",
        mixinStandardHelpOptions = true,
        description = "Measure single-thread tokenizer encode throughput.")
public final class TokenizerBenchCommand implements Runnable {

    @Option(names = "--tokenizer", required = true, paramLabel = "FILE",
            description = "A .gguf file, a tokenizer.json, or a model directory containing tokenizer.json.")
    Path tokenizer;

    @Option(names = "--text", paramLabel = "FILE", description = "Text to encode instead of the built-in mixed text.")
    Path text;

    @Option(names = "--size-mb", defaultValue = "4", description = "Size of the built-in text in MB (default ${DEFAULT-VALUE}).")
    int sizeMb;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs; the median is reported (default ${DEFAULT-VALUE}).")
    int runs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        if (runs < 1) throw new CliErrors.UserError("--runs must be at least 1");
        PrintWriter out = spec.commandLine().getOut();
        Tokenizer tok = TokenizeCommand.load(tokenizer);
        String input;
        try {
            input = text != null ? Files.readString(text, StandardCharsets.UTF_8) : MixedText.generate(sizeMb * 1_000_000L, 42);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long bytes = input.getBytes(StandardCharsets.UTF_8).length;
        out.printf(Locale.ROOT, "tokenizer: %s (%d tokens in vocabulary)%n", tokenizer, tok.vocabSize());
        out.printf(Locale.ROOT, "input: %s, %.2f MB UTF-8, %d chars%n", text != null ? text : "built-in mixed text (prose, code, CJK, emoji)",
                bytes / 1e6, input.length());
        out.flush();
        // Warm-up: let the JIT compile the hot paths before timing.
        int tokens = tok.encode(input, false, false).length;
        tok.encode(input, false, false);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double[] seconds = new double[runs];
        double[] cpuSeconds = new double[runs];
        for (int r = 0; r < runs; r++) {
            long c0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            tokens = tok.encode(input, false, false).length;
            seconds[r] = (System.nanoTime() - t0) / 1e9;
            cpuSeconds[r] = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
        }
        double median = median(seconds);
        double cpu = median(cpuSeconds);
        out.printf(Locale.ROOT, "encode: %d tokens, median %.3f s of %d runs: %.2f MB/s, %.0f tokens/s (single thread, wall clock)%n",
                tokens, median, runs, bytes / 1e6 / median, tokens / median);
        // On a shared machine wall time includes waiting for a core; the thread's CPU time does not.
        out.printf(Locale.ROOT, "        median thread CPU time %.3f s: %.2f MB/s, %.0f tokens/s%n", cpu, bytes / 1e6 / cpu, tokens / cpu);
        out.flush();

        String line = noSpaceLine(1_000_000, 7);
        tok.encode(line.substring(0, 10_000), false, false);
        long c0 = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        int n = tok.encode(line, false, false).length;
        double s = (System.nanoTime() - t0) / 1e9;
        double sc = (threads.getCurrentThreadCpuTime() - c0) / 1e9;
        out.printf(Locale.ROOT, "1 MB single line without spaces: %d tokens in %.3f s (thread CPU %.3f s)%n", n, s, sc);
        out.flush();
    }

    private static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Random lowercase letters and digits: one enormous pre-token for most pre-tokenizers. */
    static String noSpaceLine(int length, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        String alphabet = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789";
        char[] cs = new char[length];
        for (int i = 0; i < length; i++) cs[i] = alphabet.charAt(rnd.nextInt(alphabet.length()));
        return new String(cs);
    }
}
