package ai.armature.router.index;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The per-worker block map against java.util.HashMap through random puts and removes (key 0 included). */
class LongIntMapTest {

    @Test
    void behavesLikeAHashMap() {
        SplittableRandom rnd = new SplittableRandom(11);
        LongIntMap map = new LongIntMap();
        Map<Long, Integer> ref = new HashMap<>();
        long[] keys = new long[3000];
        for (int i = 1; i < keys.length; i++) keys[i] = rnd.nextLong();
        for (int step = 0; step < 200_000; step++) {
            long k = keys[rnd.nextInt(step < 100_000 ? keys.length : keys.length / 3)];
            if (rnd.nextInt(3) < 2) {
                int v = 1 + rnd.nextInt(1000);
                Integer old = ref.put(k, v);
                assertThat(map.put(k, v)).isEqualTo(old == null ? 0 : old);
            } else {
                Integer old = ref.remove(k);
                assertThat(map.remove(k)).isEqualTo(old == null ? 0 : old);
            }
            long probe = keys[rnd.nextInt(keys.length)];
            assertThat(map.get(probe)).isEqualTo(ref.getOrDefault(probe, 0));
            assertThat(map.size()).isEqualTo(ref.size());
        }
        Set<Long> seen = new HashSet<>();
        map.forEachKey(seen::add);
        assertThat(seen).isEqualTo(ref.keySet());
        map.clear();
        assertThat(map.size()).isZero();
        assertThat(map.get(keys[5])).isZero();
    }
}
