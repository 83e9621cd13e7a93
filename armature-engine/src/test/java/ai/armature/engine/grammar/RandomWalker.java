package ai.armature.engine.grammar;

import java.io.ByteArrayOutputStream;
import java.util.SplittableRandom;

/**
 * Generates constrained outputs the way a sampler with random logits would: each step draws a token among those
 * the mask allows. To keep outputs short it favours, with probability {@code closeBias}, tokens that close
 * something (contain a quote, brace or bracket, or the {@code alsoCloses} text) and end-of-generation; the grammar
 * alone decides what is allowed.
 */
final class RandomWalker {

    record Output(String text, boolean complete, int tokens) {
    }

    private final CompiledGrammar grammar;
    private final double closeBias;
    private final byte[] alsoCloses;

    RandomWalker(CompiledGrammar grammar, double closeBias) {
        this(grammar, closeBias, null);
    }

    RandomWalker(CompiledGrammar grammar, double closeBias, String alsoCloses) {
        this.grammar = grammar;
        this.closeBias = closeBias;
        this.alsoCloses = alsoCloses == null ? null : alsoCloses.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    Output walk(SplittableRandom r, int maxTokens, StepCheck check) {
        TokenVocabulary v = grammar.vocabulary();
        GrammarMatcher m = grammar.matcher();
        long[] mask = new long[v.maskWords()];
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int[] allowed = new int[v.size()];
        for (int step = 0; step < maxTokens; step++) {
            if (m.isComplete() && !m.canContinue()) return new Output(out.toString(java.nio.charset.StandardCharsets.UTF_8), true, step);
            int count = m.fillMask(mask);
            if (check != null) check.check(out.toByteArray(), mask);
            if (count == 0) throw new AssertionError("no token allowed after " + out);
            int n = 0, closers = 0;
            for (int id = 0; id < v.size(); id++) if ((mask[id >>> 6] & (1L << id)) != 0) allowed[n++] = id;
            int[] close = new int[n];
            for (int i = 0; i < n; i++) if (closes(v, allowed[i])) close[closers++] = allowed[i];
            int token = closers > 0 && r.nextDouble() < closeBias ? close[r.nextInt(closers)] : allowed[r.nextInt(n)];
            if (v.isEndOfGeneration(token)) return new Output(out.toString(java.nio.charset.StandardCharsets.UTF_8), true, step + 1);
            if (!m.accept(token)) throw new AssertionError("the matcher refused token " + token + " that its mask allowed");
            out.writeBytes(v.bytes(token));
        }
        return new Output(out.toString(java.nio.charset.StandardCharsets.UTF_8), m.isComplete() && !m.canContinue(), maxTokens);
    }

    private boolean closes(TokenVocabulary v, int id) {
        if (v.isEndOfGeneration(id)) return true;
        byte[] t = v.bytes(id);
        for (byte b : t) if (b == '"' || b == '}' || b == ']') return true;
        if (alsoCloses != null) {
            for (int i = 0; i + alsoCloses.length <= t.length; i++) {
                if (java.util.Arrays.equals(t, i, i + alsoCloses.length, alsoCloses, 0, alsoCloses.length)) return true;
            }
        }
        return false;
    }

    interface StepCheck {
        void check(byte[] prefix, long[] mask);
    }
}
