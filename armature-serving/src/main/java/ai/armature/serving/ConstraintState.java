package ai.armature.serving;

import ai.armature.engine.grammar.CompiledGrammar;
import ai.armature.engine.grammar.GrammarMatcher;
import ai.armature.serving.runner.AllowedTokens;

/**
 * The constraint of one sequence: its grammar matcher and the mask of the tokens allowed next. After each
 * accepted token the next mask is computed on the worker's {@link MaskThread} while the next forward pass runs;
 * the runner waits for it only when it samples. The engine thread advances the matcher only after the runner has
 * consumed the mask, so the two threads never use the matcher at once.
 */
final class ConstraintState implements AllowedTokens {

    final GrammarMatcher matcher;
    private final long[] bits;
    private int count;
    private boolean ready;
    private String error;

    ConstraintState(CompiledGrammar grammar) {
        this.matcher = grammar.matcher();
        this.bits = new long[grammar.vocabulary().maskWords()];
    }

    /** Starts computing the mask for the matcher's current state. */
    void schedule(MaskThread thread) {
        synchronized (this) {
            ready = false;
        }
        thread.submit(this::compute);
    }

    private void compute() {
        int c;
        String err = null;
        try {
            c = matcher.fillMask(bits);
        } catch (RuntimeException e) {
            c = 0;
            err = e.toString();
        }
        synchronized (this) {
            count = c;
            error = err;
            ready = true;
            notifyAll();
        }
    }

    @Override
    public synchronized long[] await() {
        boolean interrupted = false;
        while (!ready) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return bits;
    }

    @Override
    public synchronized int count() {
        return count;
    }

    /** Why the last mask could not be computed, or null. */
    synchronized String error() {
        return error;
    }
}
