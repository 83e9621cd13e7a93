package ai.armature.serving;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import ai.armature.protocol.GenerateOutput;
import ai.armature.protocol.GenerateRequest;
import ai.armature.protocol.TokenLogprob;
import ai.armature.serving.kv.BlockTable;

/**
 * The worker-side state of one request: its tokens (prompt, then generated), how many positions have K/V, its
 * block table (owned by the KV cache manager), its random generator and where its outputs go. Mutated by the
 * engine thread only.
 */
final class Sequence {

    /** Scheduling order: higher priority first, then older first. The last in this order is preempted first. */
    static final Comparator<Sequence> ORDER = Comparator.<Sequence>comparingInt(s -> -s.priority).thenComparingLong(s -> s.arrival);

    enum Status { WAITING, RUNNING, FINISHED }

    final long id;
    final long arrival;
    final int priority;
    final GenerateRequest request;
    final Consumer<GenerateOutput> sink;
    final int promptLength;
    /** Longest length (prompt + generated) this sequence may reach: max tokens, context and cache capacity. */
    final int maxLength;
    final SplittableRandom random;
    /** The sequence's KV blocks; only the KV cache manager changes them. */
    final BlockTable blocks;

    Status status = Status.WAITING;
    int[] tokens;
    int length;
    /** Positions [0, computed) have K/V in the blocks of the table. */
    int computed;
    int generated;
    int cachedPromptTokens = -1;
    int preemptions;
    /** True until the sequence first runs or ends: it still holds a place in the bounded waiting queue. */
    boolean holdsQueueSlot = true;

    // This step's share (valid while scheduled).
    boolean scheduled;
    int stepStart, stepCount;

    // Tokens [promptLength, sent) went to the sink; logprobs of generated tokens not yet sent.
    int sent;
    List<TokenLogprob> pendingLogprobs;

    Sequence(long id, long arrival, GenerateRequest request, Consumer<GenerateOutput> sink, int maxLength, BlockTable blocks) {
        this.id = id;
        this.arrival = arrival;
        this.priority = request.priority();
        this.request = request;
        this.sink = sink;
        this.promptLength = request.promptTokens().length;
        this.maxLength = maxLength;
        this.blocks = blocks;
        this.random = new SplittableRandom(request.sampling().seed());
        this.tokens = Arrays.copyOf(request.promptTokens(), Math.min(maxLength, promptLength + 64));
        this.length = promptLength;
        this.sent = promptLength;
    }

    String requestId() {
        return request.requestId();
    }

    /** Only the last known token still needs K/V: the sequence is decoding. */
    boolean decoding() {
        return length - computed == 1;
    }

    void append(int token) {
        if (length == tokens.length) tokens = Arrays.copyOf(tokens, Math.min(maxLength, tokens.length * 2));
        tokens[length++] = token;
        generated++;
    }

    void addLogprob(TokenLogprob lp) {
        if (pendingLogprobs == null) pendingLogprobs = new ArrayList<>();
        pendingLogprobs.add(lp);
    }
}
