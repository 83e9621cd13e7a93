package ai.armature.router.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Load events survive the wire; damaged messages are refused. */
class LoadEventCodecTest {

    @Test
    void everyKindRoundTrips() {
        List<LoadEvent> events = List.of(
                new LoadEvent.Routed("r-1", "req-ü", "worker-7", 12_000, 4_096, new long[] {Long.MIN_VALUE, -1, 0, 42}),
                new LoadEvent.Routed("r-1", "req-2", "worker-7", 5, 0, new long[0]),
                new LoadEvent.FirstToken("r-1", "req-ü"), new LoadEvent.Finished("r-1", "req-ü"),
                new LoadEvent.Heartbeat("r-2"), new LoadEvent.Left("r-2"));
        for (LoadEvent e : events) {
            LoadEvent back = LoadEventCodec.decode(LoadEventCodec.encode(e));
            assertThat(back).usingRecursiveComparison().isEqualTo(e);
        }
    }

    @Test
    void damagedMessagesAreRefused() {
        byte[] ok = LoadEventCodec.encode(new LoadEvent.Routed("r", "q", "w", 1, 0, new long[] {1, 2}));
        assertThatThrownBy(() -> LoadEventCodec.decode(java.util.Arrays.copyOf(ok, ok.length - 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("truncated");
        byte[] future = ok.clone();
        future[0] = 9;
        assertThatThrownBy(() -> LoadEventCodec.decode(future)).hasMessageContaining("unknown version");
        byte[] kind = ok.clone();
        kind[1] = 77;
        assertThatThrownBy(() -> LoadEventCodec.decode(kind)).hasMessageContaining("unknown kind");
        assertThatThrownBy(() -> LoadEventCodec.decode(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }
}
