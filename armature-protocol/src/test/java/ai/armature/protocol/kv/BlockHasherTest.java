package ai.armature.protocol.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

import net.openhft.hashing.LongHashFunction;

class BlockHasherTest {

    private final BlockHasher hasher = new BlockHasher("model-a");

    @Test
    void blockHashIsXxh3OverTheParentAndTheTokensInLittleEndian() {
        int[] tokens = {5, 6, 7, 8};
        ByteBuffer bytes = ByteBuffer.allocate(8 + 16).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(42L);
        for (int t : tokens) bytes.putInt(t);
        long expected = LongHashFunction.xx3(BlockHasher.SEED).hashBytes(bytes.array());
        assertThat(hasher.hashBlock(42L, tokens, 0, 4)).isEqualTo(expected);
    }

    @Test
    void equalPrefixesGiveEqualChainsAndAnyDifferenceChangesEveryLaterHash() {
        int[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        int[] b = {1, 2, 3, 4, 5, 6, 7, 8, 0};
        int[] c = {9, 2, 3, 4, 5, 6, 7, 8};
        long[] ha = hasher.hashFullBlocks(null, a, a.length, 4);
        long[] hb = hasher.hashFullBlocks(null, b, b.length, 4);
        long[] hc = hasher.hashFullBlocks(null, c, c.length, 4);
        assertThat(ha).hasSize(2).containsExactly(hb);
        assertThat(hc[0]).isNotEqualTo(ha[0]);
        assertThat(hc[1]).as("same tokens, different parent").isNotEqualTo(ha[1]);
        assertThat(ha[1]).isEqualTo(hasher.hashBlock(ha[0], a, 4, 4));
        assertThat(ha[0]).isEqualTo(hasher.hashBlock(hasher.rootHash(null), a, 0, 4));
    }

    @Test
    void modelAndSaltSeparateNamespaces() {
        int[] t = {1, 2, 3, 4};
        long plain = hasher.hashFullBlocks(null, t, 4, 4)[0];
        assertThat(hasher.hashFullBlocks("", t, 4, 4)[0]).isEqualTo(plain);
        assertThat(hasher.hashFullBlocks("tenant-1", t, 4, 4)[0]).isNotEqualTo(plain);
        assertThat(new BlockHasher("model-b").hashFullBlocks(null, t, 4, 4)[0]).isNotEqualTo(plain);
        assertThat(new BlockHasher("model-a").hashFullBlocks(null, t, 4, 4)[0]).isEqualTo(plain);
    }

    @Test
    void aChainExtendedBitByBitEqualsTheWholeHashAndNamesItsParents() {
        int[] t = new int[23];
        for (int i = 0; i < t.length; i++) t[i] = 7 * i + 1;
        long[] whole = hasher.hashFullBlocks("s", t, t.length, 4);
        BlockHasher.Chain chain = hasher.chain("s", 4);
        assertThat(chain.extend(t, 3)).isZero();
        assertThat(chain.extend(t, 9)).isEqualTo(2);
        assertThat(chain.extend(t, 9)).isEqualTo(2);
        assertThat(chain.extend(t, 23)).isEqualTo(5);
        for (int i = 0; i < 5; i++) assertThat(chain.hash(i)).isEqualTo(whole[i]);
        assertThat(chain.parent(0)).isEqualTo(hasher.rootHash("s")).isEqualTo(chain.root());
        assertThat(chain.parent(3)).isEqualTo(whole[2]);
    }

    @Test
    void hashingIntoAReusedBufferGivesTheSameHashes() {
        int[] t = {9, 8, 7, 6, 5, 4, 3, 2};
        byte[] scratch = new byte[8 + 4 * 8 + 5]; // longer than needed: only the first bytes count
        java.util.Arrays.fill(scratch, (byte) 0x5A);
        assertThat(hasher.hashBlock(42, t, 0, 8, scratch)).isEqualTo(hasher.hashBlock(42, t, 0, 8));
        assertThat(hasher.hashBlock(43, t, 4, 4, scratch)).isEqualTo(hasher.hashBlock(43, t, 4, 4));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> hasher.hashBlock(1, t, 0, 8, new byte[10]))
                .isInstanceOf(IllegalArgumentException.class);
    }
    @Test
    void everyBlockSizeHashesAsTheLibrarysXxh3OfTheBytes() {
        // Blocks of 1 to 58 tokens take the direct path (Xxh3Block), longer ones the library's: both must agree with
        // the library over the bytes, for any parent and tokens (negative ids and high bits included).
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        LongHashFunction xxh3 = LongHashFunction.xx3(BlockHasher.SEED);
        for (int count = 0; count <= 80; count++) {
            for (int trial = 0; trial < 40; trial++) {
                int from = rnd.nextInt(3);
                int[] tokens = new int[from + count + rnd.nextInt(3)];
                for (int i = 0; i < tokens.length; i++) tokens[i] = trial % 4 == 0 ? rnd.nextInt() : rnd.nextInt(200_000);
                long parent = trial % 5 == 0 ? 0 : rnd.nextLong();
                ByteBuffer bytes = ByteBuffer.allocate(8 + 4 * count).order(ByteOrder.LITTLE_ENDIAN);
                bytes.putLong(parent);
                for (int i = 0; i < count; i++) bytes.putInt(tokens[from + i]);
                long expected = xxh3.hashBytes(bytes.array());
                assertThat(hasher.hashBlock(parent, tokens, from, count)).as("%d tokens", count).isEqualTo(expected);
                assertThat(hasher.hashBlock(parent, tokens, from, count, new byte[8 + 4 * count])).as("%d tokens", count).isEqualTo(expected);
            }
        }
    }

    @Test
    void aBlockOutsideTheTokensIsRefused() {
        int[] t = {1, 2, 3, 4};
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> hasher.hashBlock(1, t, 2, 4)).isInstanceOf(IndexOutOfBoundsException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> hasher.hashBlock(1, t, -1, 2)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
