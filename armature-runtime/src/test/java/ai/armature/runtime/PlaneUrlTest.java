package ai.armature.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Plane URLs: servers, credentials, TLS files, and clear errors for the rest. */
class PlaneUrlTest {

    @Test
    void readsServersCredentialsAndTls(@TempDir Path dir) throws Exception {
        PlaneUrl etcd = PlaneUrl.parse("etcd://root:p%40ss@10.0.0.1:2379,10.0.0.2:2379", "--discovery", "etcd", "etcds");
        assertThat(etcd.hostPorts()).containsExactly("10.0.0.1:2379", "10.0.0.2:2379");
        assertThat(etcd.user()).isEqualTo("root");
        assertThat(etcd.password()).isEqualTo("p@ss");
        assertThat(etcd.secure()).isFalse();
        assertThat(etcd.serverUrls("http", "https")).containsExactly("http://10.0.0.1:2379", "http://10.0.0.2:2379");
        assertThat(etcd.toString()).doesNotContain("p@ss").doesNotContain("root");

        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        PlaneUrl nats = PlaneUrl.parse("tls://tok@nats.local:4222?ca=" + ca, "--events", "nats", "tls");
        assertThat(nats.user()).isEqualTo("tok");
        assertThat(nats.password()).isNull();
        assertThat(nats.tls().ca()).isEqualTo(ca);
        assertThat(nats.serverUrls("nats", "tls")).isEqualTo(List.of("tls://nats.local:4222"));
    }

    @Test
    void mistakesAreClearErrors() {
        assertThatThrownBy(() -> PlaneUrl.parse("127.0.0.1:2379", "--discovery", "etcd", "etcds")).hasMessageContaining("etcd://HOST:PORT");
        assertThatThrownBy(() -> PlaneUrl.parse("nats://h:1", "--discovery", "etcd", "etcds")).hasMessageContaining("unsupported scheme 'nats'");
        assertThatThrownBy(() -> PlaneUrl.parse("etcd://h", "--discovery", "etcd", "etcds")).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> PlaneUrl.parse("etcd://h:1?ca=x", "--discovery", "etcd", "etcds")).hasMessageContaining("TLS scheme");
        assertThatThrownBy(() -> PlaneUrl.parse("etcds://h:1?bogus=1", "--discovery", "etcd", "etcds")).hasMessageContaining("unknown parameter");
        assertThatThrownBy(() -> PlaneUrl.parse("etcds://h:1?ca=/no/such/file", "--discovery", "etcd", "etcds")).hasMessageContaining("cannot read");
    }
}
