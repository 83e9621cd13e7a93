package ai.armature.cli;

import ai.armature.runtime.PlaneUrl;
import ai.armature.runtime.TlsFiles;
import ai.armature.runtime.discovery.EtcdDiscovery;
import ai.armature.runtime.events.NatsEventPlane;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** How a process of a distributed deployment reaches the others: discovery, event plane, namespace, gRPC TLS. */
final class ClusterOptions {

    @Option(names = "--discovery", required = true, paramLabel = "URL",
            description = {"etcd to register in / discover workers from: etcd://HOST:PORT[,HOST:PORT...], with credentials",
                    "etcd://USER:PASSWORD@HOST:PORT, over TLS etcds://HOST:PORT?ca=CA.pem[&cert=C.pem&key=K.pem]."})
    String discovery;

    @Option(names = "--events", required = true, paramLabel = "URL",
            description = {"NATS for KV events and load reports: nats://HOST:PORT, with a token nats://TOKEN@HOST:PORT or",
                    "nats://USER:PASSWORD@HOST:PORT, over TLS tls://HOST:PORT?ca=CA.pem[&cert=C.pem&key=K.pem]."})
    String events;

    @Option(names = "--namespace", defaultValue = "default",
            description = "Separates deployments sharing one etcd and NATS (keys /armature/NS/..., subjects armature.NS....). Default: ${DEFAULT-VALUE}.")
    String namespace;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "This process's certificate for gRPC (mutual TLS between frontends and workers).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (PKCS#8 PEM).")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "PEM",
            description = "CA certificates trusted for gRPC; on a worker, clients must then present a certificate it signed.")
    Path tlsCa;

    /** The gRPC TLS files, or null for plaintext. */
    TlsFiles tls() {
        if (tlsCert == null && tlsKey == null && tlsCa == null) return null;
        if (!namespace.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("--namespace may hold letters, digits, '-' and '_' only");
        return new TlsFiles(tlsCert, tlsKey, tlsCa);
    }

    void check() {
        if (!namespace.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("--namespace may hold letters, digits, '-' and '_' only");
        PlaneUrl.parse(discovery, "--discovery", "etcd", "etcds");
        PlaneUrl.parse(events, "--events", "nats", "tls");
        tls();
    }

    EtcdDiscovery discovery(Duration leaseTtl) {
        return new EtcdDiscovery(PlaneUrl.parse(discovery, "--discovery", "etcd", "etcds"), namespace, leaseTtl);
    }

    NatsEventPlane events(String connectionName) throws IOException, InterruptedException {
        return new NatsEventPlane(PlaneUrl.parse(events, "--events", "nats", "tls"), namespace, connectionName);
    }
}
