package ai.armature.sim;

import java.util.List;

import ai.armature.bench.MooncakeTrace;

/**
 * Replays a Mooncake trace: entry i arrives at its timestamp divided by {@code speedup}, asks for its output length
 * and has {@code input_length} prompt tokens synthesised block by block from its {@code hash_ids} (512 tokens per
 * id): equal ids give equal tokens, a request's last partial block is a prefix of its id's tokens, and tokens past
 * the hashed blocks are unique to the request. Requests are built when due, so the whole trace never sits in memory.
 */
public final class MooncakeReplay implements SimWorkload {

    private final List<MooncakeTrace.Entry> entries;
    private final double speedup;
    private final TokenSynth tokens;

    public MooncakeReplay(MooncakeTrace trace, double speedup, int vocab, long seed) {
        if (!(speedup > 0) || Double.isInfinite(speedup)) throw new IllegalArgumentException("--speedup must be a positive number, got " + speedup);
        this.entries = trace.entries();
        this.speedup = speedup;
        this.tokens = new TokenSynth(seed, vocab);
    }

    @Override
    public void start(Context ctx) {
        if (!entries.isEmpty()) ctx.at(arrival(0), () -> emit(0, ctx));
    }

    private void emit(int i, Context ctx) {
        MooncakeTrace.Entry e = entries.get(i);
        ctx.submit(new SimRequest("trace-" + i, prompt(i, e), Math.max(1, e.outputLength()), ctx.now()));
        if (i + 1 < entries.size()) ctx.at(arrival(i + 1), () -> emit(i + 1, ctx));
    }

    private long arrival(int i) {
        return Math.round(entries.get(i).timestampMs() * 1e6 / speedup);
    }

    /** The synthesised prompt of entry {@code index}. */
    int[] prompt(int index, MooncakeTrace.Entry e) {
        int n = Math.max(1, e.inputLength());
        int[] out = new int[n];
        long[] ids = e.hashIds();
        int block = MooncakeTrace.BLOCK_TOKENS;
        for (int at = 0; at < n; at += block) {
            int b = at / block;
            int count = Math.min(block, n - at);
            if (b < ids.length) tokens.fill(ids[b], 0, count, out, at);
            else tokens.fill((1L << 44) + index, at, count, out, at); // beyond every hash id: unique to this request
        }
        return out;
    }

    @Override
    public long totalRequests() {
        return entries.size();
    }

    @Override
    public String describe() {
        return "mooncake trace, " + entries.size() + " requests, speedup " + speedup;
    }
}
