package ai.armature.cli;

import ai.armature.engine.grammar.CompiledGrammar;
import ai.armature.engine.grammar.Grammar;
import ai.armature.engine.grammar.GrammarCompiler;
import ai.armature.engine.grammar.GrammarMatcher;
import ai.armature.engine.grammar.TokenVocabulary;
import ai.armature.engine.model.KvCache;
import ai.armature.engine.model.KvDtype;
import ai.armature.protocol.FinishReason;
import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.GenerationStream;
import ai.armature.protocol.OutputConstraint;
import ai.armature.protocol.SamplingParams;
import ai.armature.protocol.StopConditions;
import ai.armature.protocol.kv.KvEventPublisher;
import ai.armature.serving.ServingConfig;
import ai.armature.serving.ServingEngine;
import ai.armature.serving.runner.LlamaModelRunner;
import ai.armature.serving.worker.LoadedModel;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code armature bench structured}: what structured output costs. Compile time of a JSON Schema (by default a
 * generated object of {@code --properties} properties) against the model's vocabulary, the mask computation per
 * token, and decode tokens/s of one worker with and without the schema, measured back to back in alternating
 * rounds so the ratio survives a noisy machine.
 */
@Command(name = "structured", mixinStandardHelpOptions = true,
        description = {"Structured output cost: schema compile time, mask time per token, and decode tokens/s",
                "with vs without a JSON Schema (alternating rounds, one worker, no HTTP)."})
final class StructuredBenchCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "A GGUF model (e.g. from: armature demo-model --preset 1b).")
    Path model;

    @Option(names = "--schema", description = "A JSON Schema file. Default: a generated object with --properties properties.")
    Path schemaFile;

    @Option(names = "--properties", defaultValue = "50", description = "Properties of the generated schema. Default: ${DEFAULT-VALUE}.")
    int properties;

    @Option(names = "--output-tokens", defaultValue = "64", description = "Generated tokens per request. Default: ${DEFAULT-VALUE}.")
    int outputTokens;

    @Option(names = "--concurrency", defaultValue = "1", description = "Requests decoded together. Default: ${DEFAULT-VALUE}.")
    int concurrency;

    @Option(names = "--rounds", defaultValue = "3", description = "Alternating rounds of each kind. Default: ${DEFAULT-VALUE}.")
    int rounds;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    private final AtomicLong ids = new AtomicLong();

    /** A generated object schema: string, integer, number range, boolean, enum and array properties; every second one required. */
    static String generatedSchema(int n) {
        String[] types = {"{\"type\":\"string\",\"maxLength\":24}", "{\"type\":\"integer\"}", "{\"type\":\"number\",\"minimum\":0,\"maximum\":100}",
                "{\"type\":\"boolean\"}", "{\"enum\":[\"low\",\"medium\",\"high\"]}", "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":8},\"maxItems\":4}"};
        StringBuilder s = new StringBuilder("{\"type\":\"object\",\"properties\":{");
        for (int i = 0; i < n; i++) s.append(i == 0 ? "" : ",").append("\"property_").append(i).append("\":").append(types[i % types.length]);
        s.append("},\"required\":[");
        for (int i = 0; i < n; i += 2) s.append(i == 0 ? "" : ",").append("\"property_").append(i).append('"');
        return s.append("],\"additionalProperties\":false}").toString();
    }

    record Run(double tokensPerSecond, List<int[]> outputs) {
    }

    @Override
    public Integer call() throws Exception {
        if (outputTokens < 4 || concurrency < 1 || rounds < 1 || properties < 1) {
            throw new IllegalArgumentException("need --output-tokens >= 4, --concurrency >= 1, --rounds >= 1, --properties >= 1");
        }
        String schema = schemaFile != null ? Files.readString(schemaFile) : generatedSchema(properties);
        OutputConstraint constraint = OutputConstraint.jsonSchema(schema);
        try (LoadedModel m = LoadedModel.open(model)) {
            int vocab = m.model().config().vocabSize();
            long t0 = System.nanoTime();
            TokenVocabulary tv = TokenVocabulary.of(m.tokenizer(), vocab);
            long t1 = System.nanoTime();
            // Compile twice with fresh compilers: the first run includes JIT warm-up, the second is the figure.
            new GrammarCompiler(tv).compile(constraint);
            GrammarCompiler fresh = new GrammarCompiler(tv);
            long t2 = System.nanoTime();
            Grammar grammar = fresh.grammar(constraint);
            long t3 = System.nanoTime();
            CompiledGrammar compiled = fresh.compile(constraint);
            long t4 = System.nanoTime();

            long kvBytes = (long) (concurrency + 2) * (64 + outputTokens + 32) * KvCache.bytesPerBlock(m.model().config(), 1, KvDtype.F16);
            ServingConfig config = ServingConfig.defaults().withMaxSeqs(Math.max(4, concurrency)).withKvCacheMemoryBytes(kvBytes);
            LlamaModelRunner runner = new LlamaModelRunner(m.model(), "bench", m.endOfGenerationIds(), KvDtype.F16);
            GrammarCompiler grammars = new GrammarCompiler(tv);
            double plain = 0, constrained = 0;
            List<int[]> outputs = new ArrayList<>();
            try (ServingEngine engine = new ServingEngine(runner, config, KvEventPublisher.NONE, grammars)) {
                SplittableRandom random = new SplittableRandom(5);
                run(engine, null, random, vocab); // warm-up of both paths
                run(engine, constraint, random, vocab);
                for (int r = 0; r < rounds; r++) {
                    plain += run(engine, null, random, vocab).tokensPerSecond();
                    Run c = run(engine, constraint, random, vocab);
                    constrained += c.tokensPerSecond();
                    outputs.addAll(c.outputs());
                }
            }
            plain /= rounds;
            constrained /= rounds;
            double maskMicros = maskMicrosPerToken(compiled, outputs);
            report(tv, grammar, compiled, (t1 - t0) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6, plain, constrained, maskMicros);
        }
        return 0;
    }

    /** Decode tokens/s of {@code concurrency} requests (tokens after the last first token, over the time after it). */
    private Run run(ServingEngine engine, OutputConstraint constraint, SplittableRandom random, int vocab) throws InterruptedException {
        List<GenerationStream> streams = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            int[] prompt = random.ints(32, 0, vocab).toArray();
            SamplingParams p = new SamplingParams(0.8, 1, 0, 0, 1, 0, 0, random.nextLong(), -1);
            // Without a schema the request ignores end tokens so it always decodes the full length.
            GenerateRequest r = new GenerateRequest("bench-" + ids.incrementAndGet(), prompt, p,
                    new StopConditions(outputTokens, new int[0], constraint == null, false)).withConstraint(constraint);
            streams.add(engine.submit(r));
        }
        long[] first = new long[concurrency], last = new long[concurrency];
        List<long[]> stamps = new ArrayList<>();
        List<int[]> outputs = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) stamps.add(new long[outputTokens]);
        int[] counts = new int[concurrency];
        List<List<Integer>> tokens = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) tokens.add(new ArrayList<>());
        Thread[] readers = new Thread[concurrency];
        java.util.Queue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < concurrency; i++) {
            int idx = i;
            readers[i] = Thread.ofVirtual().start(() -> {
                try (GenerationStream s = streams.get(idx)) {
                    for (GenerateOutput o; (o = s.next()) != null; ) {
                        long now = System.nanoTime();
                        for (int t : o.tokenIds()) {
                            if (counts[idx] < outputTokens) stamps.get(idx)[counts[idx]++] = now;
                            tokens.get(idx).add(t);
                        }
                        if (o.tokenIds().length > 0 && first[idx] == 0) first[idx] = now;
                        if (o.finished()) {
                            if (o.finishReason() == FinishReason.ERROR) failures.add(o.error());
                            last[idx] = now;
                            break;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        for (Thread t : readers) t.join();
        if (!failures.isEmpty()) throw new IllegalStateException("a benchmark request failed: " + failures.peek());
        long lastFirst = 0, end = 0;
        for (int i = 0; i < concurrency; i++) {
            lastFirst = Math.max(lastFirst, first[i]);
            end = Math.max(end, last[i]);
        }
        int decoded = 0;
        for (int i = 0; i < concurrency; i++) {
            for (int t = 0; t < counts[i]; t++) if (stamps.get(i)[t] > lastFirst) decoded++;
            outputs.add(tokens.get(i).stream().mapToInt(Integer::intValue).toArray());
        }
        return new Run(decoded / ((end - lastFirst) / 1e9), outputs);
    }

    /** Mean time to compute one mask, replaying the constrained outputs through a fresh matcher on this thread. */
    private static double maskMicrosPerToken(CompiledGrammar g, List<int[]> outputs) {
        long[] mask = new long[g.vocabulary().maskWords()];
        long nanos = 0;
        int masks = 0;
        for (int pass = 0; pass < 2; pass++) { // the first pass warms up
            nanos = 0;
            masks = 0;
            for (int[] out : outputs) {
                GrammarMatcher m = g.matcher();
                for (int t : out) {
                    long a = System.nanoTime();
                    m.fillMask(mask);
                    nanos += System.nanoTime() - a;
                    masks++;
                    if (!m.accept(t)) break;
                }
            }
        }
        return masks == 0 ? 0 : nanos / 1e3 / masks;
    }

    private void report(TokenVocabulary tv, Grammar grammar, CompiledGrammar compiled, double vocabMs, double grammarMs, double masksMs,
                        double plain, double constrained, double maskMicros) {
        double slowdown = 100 * (1 - constrained / plain);
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("model", model.toString());
            o.put("vocabulary_tokens", tv.size());
            o.put("schema_properties", schemaFile == null ? properties : -1);
            o.put("grammar_states", grammar.stateCount());
            o.put("vocabulary_index_ms", vocabMs);
            o.put("grammar_compile_ms", grammarMs);
            o.put("mask_precompute_ms", masksMs);
            o.put("mask_cache_bytes", compiled.maskBytes());
            o.put("mask_microseconds_per_token", maskMicros);
            o.put("concurrency", concurrency);
            o.put("decode_tokens_per_second_plain", plain);
            o.put("decode_tokens_per_second_schema", constrained);
            o.put("schema_slowdown_percent", slowdown);
            System.out.println(o.toPrettyString());
            return;
        }
        System.out.printf("model: %s (%d tokens); schema: %s%n", model, tv.size(), schemaFile != null ? schemaFile : properties + " generated properties");
        System.out.printf("compile: grammar %.1f ms (%d states), masks %.1f ms (%d KiB); vocabulary index %.1f ms (once per model)%n",
                grammarMs, grammar.stateCount(), masksMs, compiled.maskBytes() / 1024, vocabMs);
        System.out.printf("mask computation: %.1f us per token (off the critical path: it overlaps the forward pass)%n", maskMicros);
        System.out.printf("decode, %d request(s), %d tokens, %d alternating rounds: %.2f tok/s plain, %.2f tok/s with the schema (%.1f%% slower)%n",
                concurrency, outputTokens, rounds, plain, constrained, slowdown);
    }
}
