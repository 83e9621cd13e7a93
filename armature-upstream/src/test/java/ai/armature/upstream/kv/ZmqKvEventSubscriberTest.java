package ai.armature.upstream.kv;

import ai.armature.protocol.kv.BlockHasher;
import org.junit.jupiter.api.Test;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The subscriber's connection itself: a subscriber started against a running engine reaches it, every time. */
class ZmqKvEventSubscriberTest {

    /**
     * A connection sometimes stalls in its handshake inside JeroMQ (see {@link ZmqKvEventSubscriber#HANDSHAKE_TIMEOUT_MS});
     * left at JeroMQ's 30 s handshake limit, a stalled one outlasts the generous wait below and the test fails. The
     * race needs the connect to complete while a command from the subscriber's thread is pending, rare on a quiet
     * machine, so many subscribers are started.
     */
    @Test
    void everyNewSubscriberReachesARunningEngine() throws Exception {
        int subscribers = 40;
        byte[] cleared = WireFormat.vllmMapBatch(List.of(WireFormat.map("type", "AllBlocksCleared")));
        for (int i = 0; i < subscribers; i++) {
            try (ZContext engine = new ZContext()) {
                ZMQ.Socket pub = engine.createSocket(SocketType.XPUB);
                int port = pub.bindToRandomPort("tcp://127.0.0.1");
                KvEventTranslator translator = new KvEventTranslator("up-" + i, new BlockHasher("served"), 16);
                try (ZmqKvEventSubscriber sub = new ZmqKvEventSubscriber("tcp://127.0.0.1:" + port,
                        new KvEventDecoder(KvEventDecoder.Schema.VLLM), translator, events -> { })) {
                    sub.start();
                    pub.setReceiveTimeOut((int) Duration.ofSeconds(20).toMillis());
                    assertThat(pub.recv()).as("subscription of subscriber %d", i).isNotNull();
                    pub.sendMore("kv-events");
                    pub.sendMore(ByteBuffer.allocate(8).putLong(0).array());
                    pub.send(cleared);
                    await(() -> sub.received() == 1);
                }
            }
        }
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached");
            LockSupport.parkNanos(5_000_000);
        }
    }
}
