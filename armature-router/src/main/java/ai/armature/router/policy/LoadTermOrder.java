package ai.armature.router.policy;

import java.util.Arrays;

/**
 * The router's aggregated workers ordered by the load part of the kv cost ({@link Cost#loadTerm}), then by token
 * load, kept current on every load change, so a decision finds the best worker that holds none of the prompt without
 * looking at every worker: among workers with no cached prefix the cost differs only in that term, and the tie-break
 * is the token load.
 *
 * <p>A tournament tree over the workers' positions (their order as candidates): each node holds the smallest
 * (load term, token load) pair below it and how many leaves share it, so the minimum, the number of workers tied at
 * it, the k-th of them in position order and how many of them precede a position are each found in O(log n), and a
 * load change costs O(log n). Maintained by the {@link ai.armature.router.load.LoadTracker} (on every change of a
 * worker's totals) and rebuilt by the router when workers join or leave. Not thread-safe (the router's lock).
 */
public final class LoadTermOrder {

    /** A token count from which costs may no longer be exact in doubles (see {@link Cost#exact}). */
    private static final long EXACT_LIMIT = 1L << 31;

    private final Cost cost;
    private int[] positionOfSlot = new int[0];
    private int[] slotAt = new int[0];
    private int size;
    private int leaves = 1;
    private double[] key = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
    private long[] load = {Long.MAX_VALUE, Long.MAX_VALUE};
    private int[] count = new int[2];
    private boolean[] inexact = new boolean[1];
    private int inexactCount;

    public LoadTermOrder(Cost cost) {
        this.cost = cost;
    }

    /**
     * Orders the workers {@code slots[0, n)} (position i is slots[i]) with their current totals
     * {@code prefill[slot]} and {@code context[slot]}.
     */
    public void rebuild(int[] slots, int n, long[] prefill, long[] context) {
        size = n;
        slotAt = Arrays.copyOf(slots, n);
        int maxSlot = -1;
        for (int i = 0; i < n; i++) maxSlot = Math.max(maxSlot, slots[i]);
        positionOfSlot = new int[Math.max(maxSlot + 1, positionOfSlot.length)];
        Arrays.fill(positionOfSlot, -1);
        leaves = Integer.highestOneBit(Math.max(1, n - 1)) << 1;
        if (n <= 1) leaves = 1;
        key = new double[2 * leaves];
        load = new long[2 * leaves];
        count = new int[2 * leaves];
        inexact = new boolean[leaves];
        inexactCount = 0;
        Arrays.fill(key, Double.POSITIVE_INFINITY);
        Arrays.fill(load, Long.MAX_VALUE);
        for (int i = 0; i < n; i++) {
            int s = slots[i];
            positionOfSlot[s] = i;
            setLeaf(i, prefill[s], context[s]);
        }
        for (int v = leaves - 1; v >= 1; v--) pull(v);
    }

    /** A worker's totals changed (no-op for a slot not in the order). */
    public void update(int slot, long prefill, long context) {
        if (slot >= positionOfSlot.length) return;
        int i = positionOfSlot[slot];
        if (i < 0) return;
        setLeaf(i, prefill, context);
        for (int v = (leaves + i) >> 1; v >= 1; v >>= 1) pull(v);
    }

    /** The position of a worker slot among the ordered workers, or -1. */
    public int position(int slot) {
        return slot < positionOfSlot.length ? positionOfSlot[slot] : -1;
    }

    /** The worker slot at a position. */
    public int slotAt(int position) {
        return slotAt[position];
    }

    /** How many workers are ordered. */
    public int size() {
        return size;
    }

    /** Whether some worker's load is too large for costs to be exact (then a decision scans instead). */
    public boolean exact() {
        return inexactCount == 0;
    }

    /** The smallest load term of any worker (+infinity with none). */
    public double minKey() {
        return key[1];
    }

    /** The smallest token load among the workers with the smallest load term. */
    public long minLoad() {
        return load[1];
    }

    /** How many workers have both the smallest load term and, among those, the smallest token load. */
    public int minCount() {
        return count[1];
    }

    /** The load term of the worker at a position. */
    public double keyAt(int position) {
        return key[leaves + position];
    }

    /** The position of the k-th (from 0, in position order) of the {@link #minCount()} workers at the minimum. */
    public int kthAtMin(int k) {
        double mk = key[1];
        long ml = load[1];
        int v = 1;
        while (v < leaves) {
            int l = 2 * v;
            if (key[l] == mk && load[l] == ml) {
                if (k < count[l]) {
                    v = l;
                    continue;
                }
                k -= count[l];
            }
            v = l + 1;
        }
        return v - leaves;
    }

    /** How many of the workers at the minimum have a position below {@code position}. */
    public int rankAtMin(int position) {
        double mk = key[1];
        long ml = load[1];
        int r = 0;
        int v = 1, lo = 0, span = leaves;
        while (v < leaves) {
            span >>= 1;
            int l = 2 * v;
            if (position >= lo + span) {
                if (key[l] == mk && load[l] == ml) r += count[l];
                lo += span;
                v = l + 1;
            } else {
                v = l;
            }
        }
        return r;
    }

    private void setLeaf(int i, long prefill, long context) {
        int v = leaves + i;
        key[v] = cost.loadTerm(prefill, context);
        load[v] = prefill + context;
        count[v] = 1;
        boolean out = Math.abs(prefill) >= EXACT_LIMIT || Math.abs(context) >= EXACT_LIMIT;
        if (out != inexact[i]) {
            inexact[i] = out;
            inexactCount += out ? 1 : -1;
        }
    }

    private void pull(int v) {
        int l = 2 * v, r = l + 1;
        double kl = key[l], kr = key[r];
        long ll = load[l], lr = load[r];
        if (kl < kr || (kl == kr && ll < lr)) {
            key[v] = kl;
            load[v] = ll;
            count[v] = count[l];
        } else if (kr < kl || ll > lr) {
            key[v] = kr;
            load[v] = lr;
            count[v] = count[r];
        } else {
            key[v] = kl;
            load[v] = ll;
            count[v] = count[l] + count[r];
        }
    }
}
