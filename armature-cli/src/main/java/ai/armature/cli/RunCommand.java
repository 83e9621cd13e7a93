package ai.armature.cli;

import ai.armature.serving.worker.LoadedModel;
import ai.armature.engine.demo.DemoModel;
import ai.armature.engine.model.KvDtype;
import ai.armature.engine.model.SingleSequence;
import ai.armature.engine.sampling.Sampler;
import ai.armature.engine.tokenizer.StreamingDetokenizer;
import ai.armature.protocol.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code armature run}: completes one prompt with the built-in engine, streaming the text to stdout. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Completes a prompt with the built-in engine, streaming the completion to stdout.",
                "Only the completion is printed, not the prompt; prompt and generation speed go to stderr.",
                "Without --model it uses the demo model."})
final class RunCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", description = "A GGUF model file (llama, qwen2 or qwen3 architecture).")
    Path model;

    @Option(names = "--prompt", required = true, description = "The text to complete.")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "256", description = "Most tokens to generate. Default: ${DEFAULT-VALUE}.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Sampling temperature; 0 is greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", defaultValue = "0.95", description = "Nucleus sampling mass. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep only the k most likely tokens (0: all). Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--seed", description = "Seed for reproducible sampling. Default: random.")
    Long seed;

    @Option(names = "--kv-type", defaultValue = "f16", description = "KV cache element type: f16, bf16 or f32. Default: ${DEFAULT-VALUE}.")
    String kvType;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be at least 1");
        PrintWriter err = spec.commandLine().getErr();
        Path path = model;
        if (path == null) {
            err.println(DemoModels.BANNER);
            path = DemoModels.cached(DemoModel.Preset.SMALL);
        }
        SamplingParams params = new SamplingParams(temperature, topP, topK, 0, 1, 0, 0,
                seed != null ? seed : System.nanoTime(), -1);
        try (LoadedModel m = LoadedModel.open(path)) {
            if (model != null && m.demo()) err.println("armature: " + path + " is a demo model: random weights, meaningless text.");
            int[] promptTokens = m.tokenizer().encode(prompt, m.tokenizer().addBosByDefault(), false);
            if (promptTokens.length == 0) throw new IllegalArgumentException("the prompt is empty");
            int context = m.model().config().contextLength();
            if (promptTokens.length >= context) {
                throw new IllegalArgumentException("the prompt has " + promptTokens.length + " tokens; the model's context is " + context);
            }
            int capacity = (int) Math.min(context, (long) promptTokens.length + maxTokens);
            PrintWriter out = spec.commandLine().getOut();
            try (SingleSequence seq = new SingleSequence(m.model(), capacity, 512, KvDtype.parse(kvType))) {
                Sampler sampler = new Sampler();
                java.util.SplittableRandom random = new java.util.SplittableRandom(params.seed());
                int[] history = java.util.Arrays.copyOf(promptTokens, capacity + 1);
                int length = promptTokens.length;
                // In the prompt's context: a SentencePiece completion keeps the space before its first word.
                StreamingDetokenizer detok = m.tokenizer().streamingDetokenizer(promptTokens, false);
                int[] endIds = m.tokenizer().endOfGenerationIds();
                int vocab = m.model().config().vocabSize();

                long t0 = System.nanoTime();
                float[] logits = seq.prefill(promptTokens);
                long t1 = System.nanoTime();
                int generated = 0, decodes = 0;
                long decodeNanos = 0;
                while (true) {
                    int token = sampler.sample(logits, 0, vocab, params, random, history, promptTokens.length, length, null);
                    history[length++] = token;
                    generated++;
                    if (contains(endIds, token)) break;
                    out.print(detok.accept(token));
                    out.flush();
                    if (generated >= maxTokens || seq.position() >= capacity) break;
                    long d0 = System.nanoTime();
                    logits = seq.decode(token);
                    decodeNanos += System.nanoTime() - d0;
                    decodes++;
                }
                out.print(detok.flush());
                out.println();
                out.flush();
                if (generated < maxTokens && seq.position() >= capacity && !contains(endIds, history[length - 1])) {
                    err.println("armature: stopped at the model's context of " + context + " tokens");
                }
                double promptSeconds = (t1 - t0) / 1e9;
                // Generation speed counts forward passes per second of decode, as llama.cpp reports it.
                err.printf("prompt: %d tokens, %.1f tokens/s; generated: %d tokens, %s tokens/s%n",
                        promptTokens.length, promptTokens.length / promptSeconds, generated,
                        decodes == 0 ? "n/a" : String.format("%.1f", decodes / (decodeNanos / 1e9)));
            }
        }
        return 0;
    }

    private static boolean contains(int[] ids, int id) {
        for (int i : ids) if (i == id) return true;
        return false;
    }
}
