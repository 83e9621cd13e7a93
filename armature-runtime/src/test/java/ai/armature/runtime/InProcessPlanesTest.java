package ai.armature.runtime;

import ai.armature.protocol.EngineStats;
import ai.armature.protocol.ModelCard;
import ai.armature.protocol.kv.KvEvent;
import ai.armature.runtime.discovery.Discovery;
import ai.armature.runtime.discovery.DiscoveryListener;
import ai.armature.runtime.discovery.InProcessDiscovery;
import ai.armature.runtime.events.InProcessEventPlane;
import ai.armature.runtime.events.WorkerEventPublisher;
import ai.armature.runtime.events.WorkerEventsListener;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The embedded implementations behave like the networked ones: same listener calls, same per-model streams. */
class InProcessPlanesTest {

    private static ModelCard card(String id) {
        return new ModelCard(id, "m", "m", 100, 16, ModelCard.ROLE_AGGREGATED, "in-process", false, "", "", 0, true);
    }

    @Test
    void discoveryReportsCurrentWorkersThenChanges() throws Exception {
        InProcessDiscovery d = new InProcessDiscovery();
        Discovery.Registration a = d.register(card("a"));
        List<String> seen = new ArrayList<>();
        AutoCloseable watch = d.watch(new DiscoveryListener() {
            @Override
            public void workerUp(ModelCard c) {
                seen.add("+" + c.workerId());
            }

            @Override
            public void workerDown(String id) {
                seen.add("-" + id);
            }
        });
        Discovery.Registration b = d.register(card("b"));
        assertThatThrownBy(() -> d.register(card("b"))).hasMessageContaining("already registered");
        a.close();
        a.close();
        assertThat(a.registered()).isFalse();
        assertThat(b.registered()).isTrue();
        watch.close();
        b.close();
        assertThat(seen).containsExactly("+a", "+b", "-a");
    }

    @Test
    void eventsGoToTheirModelsSubscribers() throws Exception {
        InProcessEventPlane plane = new InProcessEventPlane();
        List<String> seen = new ArrayList<>();
        AutoCloseable sub = plane.subscribe("m", new WorkerEventsListener() {
            @Override
            public void kvEvents(String workerId, List<KvEvent> events) {
                seen.add(workerId + ":" + events.getFirst().eventId());
            }

            @Override
            public void load(String workerId, EngineStats load) {
                seen.add(workerId + ":load" + load.runningRequests());
            }
        });
        WorkerEventPublisher w = plane.publisher("m", "w");
        plane.publisher("other", "x").publish(new KvEvent.AllBlocksCleared(1));
        w.publish(new KvEvent.AllBlocksCleared(1));
        w.publishLoad(new EngineStats(0, 3, 0, 0, 0, 0, 0));
        sub.close();
        w.publish(new KvEvent.AllBlocksCleared(2));
        assertThat(seen).containsExactly("w:1", "w:load3");
    }
}
