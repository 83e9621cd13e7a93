package ai.armature.protocol.kv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The log keeps a bounded window, replays what is still in it, and says when a consumer must resynchronise. */
class InMemoryKvEventLogTest {

    @Test
    void keepsOnlyTheNewestEventsAndReplaysFromTheWindow() {
        InMemoryKvEventLog log = new InMemoryKvEventLog(3);
        List<KvEvent> seen = new ArrayList<>();
        log.subscribe(seen::add);
        for (long id = 1; id <= 5; id++) log.publish(new KvEvent.BlockRemoved(id, id * 10));
        assertThat(seen).hasSize(5);
        assertThat(log.size()).isEqualTo(3);
        assertThat(log.published()).isEqualTo(5);
        assertThat(log.events()).extracting(KvEvent::eventId).containsExactly(3L, 4L, 5L);
        assertThat(log.eventsAfter(2).orElseThrow()).extracting(KvEvent::eventId).containsExactly(3L, 4L, 5L);
        assertThat(log.eventsAfter(4).orElseThrow()).extracting(KvEvent::eventId).containsExactly(5L);
        assertThat(log.eventsAfter(5).orElseThrow()).isEmpty();
        assertThat(log.eventsAfter(1)).as("event 2 left the window").isEmpty();
    }
}
