package ai.armature.cli;

import ai.armature.serving.worker.LoadedModel;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.LlamaModel;
import ai.armature.engine.model.SingleSequence;
import ai.armature.engine.tensor.MachineProbe;
import ai.armature.engine.tensor.Parallel;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code armature bench engine}: single-stream prompt processing (pp512) and generation (tg128) speed, each the
 * median of several runs after a warm-up, beside the machine's memory bandwidth and FP32 FMA peak, so the
 * figures read as fractions of what the hardware allows.
 */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = {"Single-stream prompt (pp) and generation (tg) tokens/s against the machine's limits.",
                "Also measures the memory read bandwidth and FP32 FMA peak, and prints roofline fractions."})
final class EngineBenchCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "A GGUF model (e.g. from: armature demo-model --preset 1b).")
    Path model;

    @Option(names = "--threads", description = "Threads for the kernels (as llama-bench -t), 1 to the cores. Default: all cores.")
    Integer threads;

    @Option(names = "--prompt-tokens", defaultValue = "512", description = "Prompt length for pp. Default: ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--gen-tokens", defaultValue = "128", description = "Tokens generated for tg. Default: ${DEFAULT-VALUE}.")
    int genTokens;

    @Option(names = "--depth", defaultValue = "0",
            description = {"Tokens already in the context when pp and tg start (as llama-bench -d): prompt processing and decode",
                    "at depth read their keys and values too. Default: ${DEFAULT-VALUE}."})
    int depth;

    @Option(names = "--runs", defaultValue = "3", description = "Measured runs per figure (median). Default: ${DEFAULT-VALUE}.")
    int runs;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (threads != null) {
            KernelThreads.check(threads);
            System.setProperty("armature.threads", Integer.toString(threads));
        }
        if (runs < 1 || promptTokens < 1 || genTokens < 1) throw new IllegalArgumentException("--runs, --prompt-tokens and --gen-tokens must be >= 1");
        if (depth < 0) throw new IllegalArgumentException("--depth must be >= 0");
        try (LoadedModel m = LoadedModel.open(model)) {
            LlamaModel lm = m.model();
            int vocab = lm.config().vocabSize();
            int tgContext = Math.max(depth, 1) + genTokens;
            int ppContext = depth + promptTokens;
            int capacity = Math.min(lm.config().contextLength(), Math.max(ppContext, tgContext));
            if (ppContext > lm.config().contextLength() || tgContext > lm.config().contextLength()) {
                throw new IllegalArgumentException("--depth + --prompt-tokens, and --depth (at least 1) + --gen-tokens, must fit the model's context of "
                        + lm.config().contextLength());
            }
            SplittableRandom random = new SplittableRandom(42);
            int[] prompt = random.ints(promptTokens, 0, vocab).toArray();
            // tg starts after one token, or after --depth tokens of context (not timed).
            int[] context = depth == 0 ? new int[] {prompt[0]} : random.ints(depth, 0, vocab).toArray();
            double[] pp = new double[runs], tg = new double[runs], tgCpu = new double[runs];
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            // Chunks of at most 512 tokens, as llama.cpp's default micro-batch: activations stay bounded.
            try (SingleSequence seq = new SingleSequence(lm, capacity, Math.min(promptTokens, 512), KvDtype.F16)) {
                for (int r = -1; r < runs; r++) { // run -1 is the warm-up
                    seq.reset();
                    if (depth > 0) seq.prefill(context); // pp at depth: the prompt attends to these too (not timed)
                    long t0 = System.nanoTime();
                    seq.prefill(prompt);
                    double ppRate = promptTokens / ((System.nanoTime() - t0) / 1e9);
                    seq.reset();
                    int token = context[context.length - 1];
                    seq.prefill(context);
                    long cpu1 = os.getProcessCpuTime();
                    long t1 = System.nanoTime();
                    for (int i = 0; i < genTokens; i++) {
                        float[] logits = seq.decode(token);
                        token = argmax(logits, vocab);
                    }
                    double tgRate = genTokens / ((System.nanoTime() - t1) / 1e9);
                    if (r >= 0) {
                        pp[r] = ppRate;
                        tg[r] = tgRate;
                        tgCpu[r] = (os.getProcessCpuTime() - cpu1) / 1e9 / genTokens;
                    }
                }
            }
            double bandwidth = MachineProbe.memoryReadBandwidthBytesPerSecond();
            double fmaPeak = MachineProbe.fmaPeakFlopsPerSecond();
            double ppMedian = median(pp), tgMedian = median(tg);
            long bytesPerToken = lm.weightBytesPerToken();
            double roofline = bandwidth / bytesPerToken;
            double flopsPerToken = 2.0 * lm.parameterCount();
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("model", model.toString());
                o.put("threads", Parallel.threads());
                o.put("prompt_tokens", promptTokens);
                o.put("generated_tokens", genTokens);
                o.put("depth", depth);
                o.put("prompt_tokens_per_second", ppMedian);
                o.put("generation_tokens_per_second", tgMedian);
                o.put("generation_cpu_seconds_per_token", median(tgCpu));
                o.put("memory_bandwidth_bytes_per_second", bandwidth);
                o.put("weight_bytes_per_token", bytesPerToken);
                o.put("roofline_tokens_per_second", roofline);
                o.put("roofline_fraction", tgMedian / roofline);
                o.put("fma_peak_flops_per_second", fmaPeak);
                o.put("prompt_fma_peak_fraction", ppMedian * flopsPerToken / fmaPeak);
                System.out.println(o.toPrettyString());
            } else {
                System.out.printf("model: %s (%s, %d threads)%n", model, lm.config().architecture().ggufName(), Parallel.threads());
                System.out.printf("pp%d%s: %.1f tokens/s  (%.1f GFLOP/s, %.0f%% of the FP32 FMA peak %.1f GFLOP/s)%n", promptTokens, depth == 0 ? "" : " @ depth " + depth, ppMedian,
                        ppMedian * flopsPerToken / 1e9, 100 * ppMedian * flopsPerToken / fmaPeak, fmaPeak / 1e9);
                System.out.printf("tg%d%s: %.1f tokens/s  (%.0f%% of the roofline %.1f tokens/s = %.1f GB/s / %.1f MB of weights per token)%n",
                        genTokens, depth == 0 ? "" : " @ depth " + depth, tgMedian, 100 * tgMedian / roofline, roofline, bandwidth / 1e9, bytesPerToken / 1e6);
                System.out.printf("runs: pp %s, tg %s (process CPU ms per tg token: %s)%n", fmt(pp), fmt(tg), fmt(scaled(tgCpu, 1e3)));
            }
        }
        return 0;
    }

    private static int argmax(float[] logits, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double[] scaled(double[] v, double factor) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = v[i] * factor;
        return r;
    }

    private static String fmt(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double d : v) b.append(b.isEmpty() ? "" : " ").append(String.format("%.1f", d));
        return b.toString();
    }
}
