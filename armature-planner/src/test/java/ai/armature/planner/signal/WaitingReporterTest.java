package ai.armature.planner.signal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class WaitingReporterTest {

    @Test
    void heldAndRouterWaitingArePublishedAsOneCountWhileAnyWaitAndZeroOnceWhenNoneDoes() {
        int[] held = {0}, atRouter = {0};
        List<Integer> published = new ArrayList<>();
        WaitingReporter r = new WaitingReporter(() -> held[0], () -> atRouter[0], published::add);
        r.report();
        assertThat(published).as("nothing waits: nothing to say").isEmpty();
        held[0] = 2;
        r.report();
        held[0] = 0;
        atRouter[0] = 40;
        r.report();
        atRouter[0] = 35;
        held[0] = 1;
        assertThat(r.report()).isEqualTo(36);
        atRouter[0] = 0;
        held[0] = 0;
        r.report();
        r.report();
        r.report();
        assertThat(published).containsExactly(2, 40, 36, 0);
    }
}
