package ai.armature.protocol.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class LargePagesTest {

    @Test
    void blocksOfEverySizeAreZeroedAlignedAndWritableToTheEnd() {
        for (long bytes : new long[] {1, 63, LargePages.MIN_BYTES - 1, LargePages.MIN_BYTES, (5L << 20) + 3}) {
            MemorySegment s = LargePages.allocate(bytes);
            assertThat(s.byteSize()).as("size of %d", bytes).isEqualTo(bytes);
            assertThat(s.address() % 64).as("alignment of %d", bytes).isZero();
            for (long o = 0; o < bytes; o += 4093) {
                assertThat(s.get(ValueLayout.JAVA_BYTE, o)).as("byte %d of %d", o, bytes).isZero();
            }
            assertThat(s.get(ValueLayout.JAVA_BYTE, bytes - 1)).isZero();
            s.set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
            s.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 9);
            assertThat(s.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) (bytes == 1 ? 9 : 7));
            assertThat(s.get(ValueLayout.JAVA_BYTE, bytes - 1)).isEqualTo((byte) 9);
        }
    }

    @Test
    void largeBlocksAreMappedOnHugePageBoundariesWhereTheSystemOffersThem() {
        MemorySegment s = LargePages.allocate(3L << 20);
        if (LargePages.hugePages()) {
            // The mapped path (an arena's malloc memory is 64-byte aligned only, not on a 2 MiB boundary).
            assertThat(s.address() % (2L << 20)).isZero();
        }
        MemorySegment small = LargePages.allocate(LargePages.MIN_BYTES - 1);
        assertThat(small.byteSize()).isEqualTo(LargePages.MIN_BYTES - 1);
    }
}
