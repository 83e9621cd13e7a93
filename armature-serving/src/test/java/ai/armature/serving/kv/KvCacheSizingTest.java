package ai.armature.serving.kv;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one KV budget rule: explicit, else the runner's, else a share of free memory capped by what can be used. */
class KvCacheSizingTest {

    @Test
    void anExplicitBudgetWinsButMustFitTheMachine() {
        assertThat(KvCacheSizing.budgetBytes(1L << 20, 5L << 30, 100, 8, 1000, 4)).isEqualTo(1L << 20);
        long physical = KvCacheSizing.physicalMemoryBytes();
        assertThatThrownBy(() -> KvCacheSizing.budgetBytes(physical / 2 + 1, -1, 100, 8, 1000, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than this machine's");
    }

    @Test
    void aSimulatedRunnersOwnBudgetComesNext() {
        assertThat(KvCacheSizing.budgetBytes(null, 54_000_000_000L, 131072, 128, 8192, 3)).isEqualTo(54_000_000_000L);
    }

    @Test
    void theDefaultIsAShareOfFreeMemoryButNoMoreThanFullContextForEverySequence() {
        // 2 sequences x 100 positions x 10 bytes: a tiny model never needs more than 2000 bytes.
        assertThat(KvCacheSizing.budgetBytes(null, -1, 10, 2, 100, 1)).isEqualTo(2000);
        long big = KvCacheSizing.budgetBytes(null, -1, 1L << 20, 1024, 1 << 20, 1);
        long shared = KvCacheSizing.budgetBytes(null, -1, 1L << 20, 1024, 1 << 20, 4);
        assertThat(shared).isBetween(big / 4 - big / 10, big / 4 + big / 10); // free memory moves a little between calls
    }
}
